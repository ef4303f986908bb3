package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/web"
)

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOp struct {
	Role       string            `json:"x-role"`
	Parameters []openAPIParam    `json:"parameters"`
	Responses  map[string]any    `json:"responses"`
	Security   *[]map[string]any `json:"security"`
}

type openAPIParam struct {
	Name string `json:"name"`
	In   string `json:"in"`
}

var docMethods = []string{"get", "put", "post", "patch", "delete"}

// TestOpenAPIMatchesRouteTable holds the OpenAPI document against the
// route table: every /api/v1 route is documented with its method and its
// role, nothing is documented that is not routed, and every path
// parameter is declared. HEAD is documented by its GET.
func TestOpenAPIMatchesRouteTable(t *testing.T) {
	e := newEnv(t)
	var doc openAPIDoc
	if err := json.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	routed := map[string]mailnet.Role{}
	for _, rt := range walkRoutes(t, e) {
		if strings.HasPrefix(rt.pattern, "/api/v1/") && rt.method != http.MethodHead {
			routed[rt.method+" "+rt.pattern] = rt.role
		}
	}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		var shared []openAPIParam
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatalf("%s parameters: %v", path, err)
			}
		}
		for key := range item {
			if key != "parameters" && !slices.Contains(docMethods, key) {
				t.Errorf("%s: unexpected key %q", path, key)
			}
		}
		for _, m := range docMethods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			var op openAPIOp
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", m, path, err)
			}
			key := strings.ToUpper(m) + " " + path
			documented[key] = true
			role, ok := routed[key]
			if !ok {
				t.Errorf("%s is documented but not routed", key)
				continue
			}
			want := string(role)
			if role == mailnet.RolePublic {
				want = "public"
			}
			if op.Role != want {
				t.Errorf("%s: documented role %q, routed %q", key, op.Role, role)
			}
			if (role == mailnet.RolePublic) != (op.Security != nil && len(*op.Security) == 0) {
				t.Errorf("%s: security does not say whether it is public", key)
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s: no responses", key)
			}
			params := append(slices.Clone(shared), op.Parameters...)
			for _, p := range param.FindAllStringSubmatch(path, -1) {
				if !slices.ContainsFunc(params, func(q openAPIParam) bool { return q.In == "path" && q.Name == p[1] }) {
					t.Errorf("%s: path parameter %s is not declared", key, p[1])
				}
			}
		}
	}
	for key := range routed {
		if !documented[key] {
			t.Errorf("%s is routed but not documented", key)
		}
	}
	if len(documented) < 40 {
		t.Errorf("%d operations documented, want the whole API", len(documented))
	}
}

// TestOpenAPIRefsResolve: every $ref names a component that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				node := any(doc)
				for _, part := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
					m, _ := node.(map[string]any)
					node = m[part]
				}
				if node == nil {
					t.Errorf("$ref %s does not resolve", r)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
}

// TestOpenAPIServed: GET /api/v1/openapi.json serves the document without
// a credential.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	res, body := send(t, e, "GET", "/api/v1/openapi.json", "")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, web.OpenAPI()) {
		t.Errorf("served document differs from the embedded one")
	}
}
