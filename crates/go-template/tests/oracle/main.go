// Command oracle answers the template test cases with Go itself: text/template and Sprig v3's
// generic function map minus env, expandenv and getHostByName, as the Sealed Secrets controller
// renders spec.template.data.
//
//	go run . check FILE...     render every case; list those whose output or error differs
//	go run . refresh FILE...   rewrite each case's output (or go_error) from Go's answer
//	go run . generate -seed 11 -n 500 > differential.json
//	                           random templates from a small grammar, with Go's answers; cases Go
//	                           rejects get "error": "" (any error is accepted) and Go's message
//
// Cases whose templates call non-deterministic functions (random values, the clock) are
// rendered but not compared.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"strings"
	"text/template"
	"unicode/utf8"

	sprig "github.com/Masterminds/sprig/v3"
)

// A case file: tests/template/*.json.
type caseFile struct {
	Source string `json:"source"`
	Cases  []tcase `json:"cases"`
}

type tcase struct {
	Name     string            `json:"name"`
	Template string            `json:"template"`
	Data     map[string]string `json:"data"`
	Output   *string           `json:"output,omitempty"`
	Error    *string           `json:"error,omitempty"`
	GoError  string            `json:"go_error,omitempty"`
}

func funcs() template.FuncMap {
	m := sprig.GenericFuncMap()
	for _, removed := range []string{"env", "expandenv", "getHostByName"} {
		delete(m, removed)
	}
	return m
}

// render runs a template as the controller does: data is a map of strings.
func render(src string, data map[string]string) (string, error) {
	t, err := template.New("").Funcs(funcs()).Parse(src)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return "", err
	}
	return out.String(), nil
}

var nondeterministic = regexp.MustCompile(`\b(rand\w*|uuidv4|now|ago|shuffle|htmlDate|date|dateInZone|date_in_zone|unixEpoch|dateModify|date_modify|mustDateModify|must_date_modify|bcrypt|htpasswd)\b`)

func load(path string) caseFile {
	b, err := os.ReadFile(path)
	must(err)
	var f caseFile
	must(json.Unmarshal(b, &f))
	return f
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(2)
	}
}

func write(w *os.File, f caseFile) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	must(enc.Encode(f))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: oracle check|refresh FILE... | generate [-seed N] [-n N]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "check", "refresh":
		bad := 0
		for _, path := range os.Args[2:] {
			f := load(path)
			for i, c := range f.Cases {
				got, err := render(c.Template, c.Data)
				switch {
				case err != nil && c.Error == nil:
					bad++
					fmt.Printf("%s: %s: Go fails: %v\n", path, c.Name, err)
					if os.Args[1] == "refresh" {
						empty := ""
						f.Cases[i].Output, f.Cases[i].Error, f.Cases[i].GoError = nil, &empty, err.Error()
					}
				case err == nil && c.Error != nil:
					bad++
					fmt.Printf("%s: %s: Go renders %q where an error is expected\n", path, c.Name, got)
				case err != nil:
					f.Cases[i].GoError = err.Error()
				case nondeterministic.MatchString(c.Template) || !utf8.ValidString(got):
				case *c.Output != got:
					bad++
					fmt.Printf("%s: %s: Go renders %q, the case says %q\n", path, c.Name, got, *c.Output)
					if os.Args[1] == "refresh" {
						f.Cases[i].Output = &got
					}
				}
			}
			if os.Args[1] == "refresh" {
				out, err := os.Create(path)
				must(err)
				write(out, f)
				must(out.Close())
			}
		}
		if bad > 0 && os.Args[1] == "check" {
			fmt.Printf("%d cases differ from Go\n", bad)
			os.Exit(1)
		}
	case "generate":
		fs := flag.NewFlagSet("generate", flag.ExitOnError)
		seed := fs.Int64("seed", 11, "random seed")
		n := fs.Int("n", 500, "number of cases")
		must(fs.Parse(os.Args[2:]))
		write(os.Stdout, generate(*seed, *n))
	default:
		fmt.Fprintln(os.Stderr, "oracle: unknown command", os.Args[1])
		os.Exit(2)
	}
}

// The data every generated template renders over.
var data = map[string]string{
	"foo": "bar", "n": "42", "e": "", "csv": "a,b,,c", "pw": "p@ss\"w<o>r&d\n",
	"uni": "héllo wörld", "num": "-3.5", "sp": "  x y  ",
}

// Functions the generator calls, with how many arguments they take before the piped one. Only
// deterministic ones: their output is the oracle.
var calls = map[string]int{
	"upper": 0, "lower": 0, "title": 0, "untitle": 0, "trim": 0, "nospace": 0, "initials": 0,
	"swapcase": 0, "quote": 0, "squote": 0, "b64enc": 0, "b64dec": 0, "b32enc": 0, "sha256sum": 0,
	"sha1sum": 0, "adler32sum": 0, "toJson": 0, "toPrettyJson": 0, "toRawJson": 0, "fromJson": 0,
	"len": 0, "print": 0, "html": 0, "js": 0, "urlquery": 0, "int": 0, "int64": 0, "float64": 0,
	"atoi": 0, "toString": 0, "toStrings": 0, "first": 0, "last": 0, "rest": 0, "initial": 0,
	"reverse": 0, "uniq": 0, "compact": 0, "sortAlpha": 0, "keys": 0, "values": 0, "empty": 0,
	"base": 0, "dir": 0, "clean": 0, "ext": 0, "isAbs": 0, "typeOf": 0, "kindOf": 0, "not": 0,
	"add1": 0, "add1f": 0, "ceil": 0, "floor": 0, "round": 1, "seq": 0, "until": 0, "duration": 0,
	"trunc": 1, "abbrev": 1, "repeat": 1, "trimPrefix": 1, "trimSuffix": 1, "trimAll": 1,
	"contains": 1, "hasPrefix": 1, "hasSuffix": 1, "split": 1, "splitList": 1, "join": 1,
	"indent": 1, "nindent": 1, "wrap": 1, "plural": 2, "replace": 2, "substr": 2, "add": 1,
	"sub": 1, "mul": 1, "div": 1, "mod": 1, "max": 1, "min": 1, "addf": 1, "subf": 1, "mulf": 1,
	"divf": 1, "maxf": 1, "minf": 1, "default": 1, "coalesce": 1, "ternary": 2, "regexMatch": 1,
	"regexFind": 1, "regexFindAll": 2, "regexReplaceAll": 2, "regexSplit": 2, "eq": 1, "ne": 1,
	"lt": 1, "le": 1, "gt": 1, "ge": 1, "and": 1, "or": 1, "has": 1, "without": 1, "append": 1,
	"prepend": 1, "slice": 1, "chunk": 1, "cat": 1, "printf": 1, "index": 1, "deepEqual": 1,
	"typeIs": 1, "kindIs": 1, "hasKey": 1, "pluck": 1, "get": 1, "dig": 2, "semverCompare": 0,
}

var fields = []string{".foo", ".n", ".e", ".csv", ".pw", ".uni", ".num", ".sp", ".missing", "$", "."}

var literals = []string{`"hello world"`, `"a,b"`, `""`, `"12"`, `"1.5"`, `"  pad "`, `"x\ty"`,
	`"<&>"`, `"/x/y.z"`, `"a.b.c"`, `"[a-z]+"`, `"%v"`, `"b"`, "0", "1", "2", "5", "-1", "-2",
	"07", "255", "0.1", "-0.5", "1e3", "true", "false", "nil", "`raw`"}

type gen struct{ r *rand.Rand }

func (g gen) pick(xs []string) string { return xs[g.r.Intn(len(xs))] }

func (g gen) term(depth int) string {
	switch k := g.r.Intn(10); {
	case k < 4:
		return g.pick(fields)
	case k < 8 || depth > 2:
		return g.pick(literals)
	case k == 8:
		items := []string{}
		for i := 0; i < 1+g.r.Intn(3); i++ {
			items = append(items, g.term(depth+1))
		}
		return "(" + g.pick([]string{"list", "tuple"}) + " " + strings.Join(items, " ") + ")"
	default:
		return "(" + g.pipeline(depth+1) + ")"
	}
}

func (g gen) call(depth int) string {
	names := make([]string, 0, len(calls))
	for name := range calls {
		if name != "semverCompare" {
			names = append(names, name)
		}
	}
	// Map iteration order is random: sort for a reproducible choice.
	sortStrings(names)
	name := g.pick(names)
	args := []string{name}
	for i := 0; i < calls[name]; i++ {
		args = append(args, g.term(depth+1))
	}
	return strings.Join(args, " ")
}

func (g gen) pipeline(depth int) string {
	p := g.term(depth)
	for i := 0; i < g.r.Intn(3); i++ {
		p += " | " + g.call(depth)
	}
	return p
}

func (g gen) statement() string {
	switch g.r.Intn(6) {
	case 0:
		return "{{ $v := " + g.pipeline(0) + " }}{{ $v }}|{{ printf \"%v\" $v }}"
	case 1:
		return "{{ if " + g.pipeline(0) + " }}T{{ else }}F{{ end }}"
	case 2:
		return "{{ with " + g.pipeline(0) + " }}<{{ . }}>{{ end }}"
	case 3:
		return "{{ (" + g.pipeline(0) + ") }}"
	default:
		return "{{ " + g.pipeline(0) + " }}"
	}
}

func generate(seed int64, n int) caseFile {
	g := gen{rand.New(rand.NewSource(seed))}
	f := caseFile{Source: fmt.Sprintf("Randomly generated templates (seed %d) run through Go's text/template with "+
		"Sprig v3.3.0 GenericFuncMap minus env, expandenv, getHostByName (tests/template/oracle). Cases Go rejects "+
		"must be rejected here too (any error).", seed)}
	for len(f.Cases) < n {
		var t strings.Builder
		for i := 0; i < 1+g.r.Intn(3); i++ {
			t.WriteString(g.statement())
			t.WriteString(g.pick([]string{"", " ", "|", "\n"}))
		}
		src := t.String()
		c := tcase{Name: src, Template: src, Data: data}
		if len(c.Name) > 60 {
			c.Name = c.Name[:60]
		}
		got, err := render(src, data)
		if err == nil && !utf8.ValidString(got) {
			// JSON strings cannot hold invalid UTF-8 (Go's encoder would write U+FFFD): skip.
			continue
		}
		if err != nil {
			empty := ""
			c.Name = "go rejects: " + c.Name
			c.Error, c.GoError = &empty, err.Error()
		} else {
			c.Output = &got
		}
		f.Cases = append(f.Cases, c)
	}
	return f
}

func sortStrings(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
