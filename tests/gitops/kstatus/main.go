// Command kstatus reads Kubernetes objects as JSON on stdin (one object, a JSON array of objects, or a List with
// items) and prints, for each, what the kstatus library that Flux's kustomize-controller uses for `wait: true`
// computes: a JSON array of {"kind", "namespace", "name", "status", "message"}.
//
// It is a test tool of sealed-secrets-rs (scripts/setup-gitops.sh builds it; tests/e2e/gitops uses it): the
// library is the one kustomize-controller v1.9.6 links (github.com/fluxcd/cli-utils, see go.mod), so the test
// sees exactly the verdict Flux would reach on our SealedSecrets.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

type verdict struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func objects(input []byte) ([]map[string]interface{}, error) {
	// apimachinery's decoder keeps integers as int64, as unstructured objects read from the API server hold them.
	var any interface{}
	if err := utiljson.Unmarshal(input, &any); err != nil {
		return nil, fmt.Errorf("parsing stdin: %w", err)
	}
	var list []interface{}
	switch v := any.(type) {
	case []interface{}:
		list = v
	case map[string]interface{}:
		if items, ok := v["items"].([]interface{}); ok {
			list = items
		} else {
			list = []interface{}{v}
		}
	default:
		return nil, fmt.Errorf("stdin is neither an object nor an array")
	}
	out := make([]map[string]interface{}, 0, len(list))
	for i, item := range list {
		obj, ok := item.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("item %d is not an object", i)
		}
		out = append(out, obj)
	}
	return out, nil
}

func run() error {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	objs, err := objects(input)
	if err != nil {
		return err
	}
	verdicts := make([]verdict, 0, len(objs))
	for _, obj := range objs {
		u := &unstructured.Unstructured{Object: obj}
		res, err := status.Compute(u)
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		verdicts = append(verdicts, verdict{
			Kind:      u.GetKind(),
			Namespace: u.GetNamespace(),
			Name:      u.GetName(),
			Status:    res.Status.String(),
			Message:   res.Message,
		})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(verdicts)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}
