// One RSA-4096 OAEP-SHA256 decryption with Go's crypto/rsa, the library Bitnami's controller uses, on one
// core: its per-operation cost, for estimating the RSA work of a controller that has no metric for it.
// Prints go_rsa_decrypt_ms=<milliseconds>.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"time"
)

func main() {
	key, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		panic(err)
	}
	label := []byte("bench-bitnami/bench-00000")
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &key.PublicKey, make([]byte, 32), label)
	if err != nil {
		panic(err)
	}
	const rounds = 100
	start := time.Now()
	for i := 0; i < rounds; i++ {
		if _, err := rsa.DecryptOAEP(sha256.New(), rand.Reader, key, ct, label); err != nil {
			panic(err)
		}
	}
	fmt.Printf("go_rsa_decrypt_ms=%.3f\n", float64(time.Since(start).Microseconds())/1000/rounds)
}
