package console

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTemplatesParse(t *testing.T) {
	cons, err := New(Deps{})
	require.NoError(t, err)
	require.Contains(t, cons.tmpl, "login")
	require.Contains(t, cons.tmpl, "error")
	require.NotEmpty(t, cons.assets.url("console.js"))
}

// TestPhrasesExist: every phrase a template asks for is in the catalog in
// both languages (a missing one would show its key to a person).
func TestPhrasesExist(t *testing.T) {
	re := regexp.MustCompile(`\.L\.[TF] "([^"]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			require.Contains(t, catalog, m[1], "%s asks for phrase %q", p, m[1])
		}
		return nil
	})
	require.NoError(t, err)
	for k, m := range catalog {
		require.NotEmpty(t, m.zh, "phrase %s has no Chinese", k)
		require.NotEmpty(t, m.en, "phrase %s has no English", k)
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/app/day":             "/app/day",
		"/app/x?y=1":           "/app/x?y=1",
		"//evil.example/":      "",
		"/\\evil.example":      "",
		"https://evil.example": "",
		"app/day":              "",
		"":                     "",
	} {
		require.Equal(t, want, localPath(in), in)
	}
}
