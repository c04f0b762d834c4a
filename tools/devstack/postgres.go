package devstack

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// PostgresComponents copies the components in src to dst, turning every state.sqlite store
// into the state.postgresql store the Helm chart uses, on the server and database that conn
// names ("host=127.0.0.1 port=5432 user=postgres dbname=kr sslmode=disable"). Each store
// keeps its table; its metadata table is <table>_metadata. It returns how many stores it
// turned. The database must exist; the stores create their tables.
func PostgresComponents(src, dst, conn string) (int, error) {
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, err
	}
	stores := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var c map[string]any
		if err := yaml.Unmarshal(b, &c); err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		spec, _ := c["spec"].(map[string]any)
		if c["kind"] == "Component" && spec["type"] == "state.sqlite" {
			stores++
			var meta []any
			table := ""
			items, _ := spec["metadata"].([]any)
			for _, m := range items {
				m, _ := m.(map[string]any)
				switch m["name"] {
				case "connectionString", "busyTimeout":
					continue
				case "tableName":
					table, _ = m["value"].(string)
				}
				meta = append(meta, m)
			}
			if table == "" {
				return 0, fmt.Errorf("%s: a state store without tableName", f)
			}
			meta = append(meta,
				map[string]any{"name": "connectionString", "value": conn},
				map[string]any{"name": "metadataTableName", "value": table + "_metadata"})
			spec["type"] = "state.postgresql"
			spec["metadata"] = meta
			if b, err = yaml.Marshal(c); err != nil {
				return 0, err
			}
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return 0, err
		}
	}
	return stores, nil
}
