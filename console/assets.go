package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The console's own script and styles, and the front-end packages
// scripts/assets copies into assets/vendor from npm (pinned by
// console/web/package-lock.json; never committed).
//
//go:embed assets
var assetFS embed.FS

// asset is one file, with its gzip form and a content hash for its URL:
// an asset's URL changes with its bytes, so browsers may keep it forever.
type asset struct {
	body, gz []byte
	hash     string
	ctype    string
}

type assetSet struct{ files map[string]*asset }

func loadAssets() (*assetSet, error) {
	a := &assetSet{files: map[string]*asset{}}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		w.Write(b)
		w.Close()
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a.files[strings.TrimPrefix(p, "assets/")] = &asset{body: b, gz: gz.Bytes(), hash: hex.EncodeToString(sum[:6]), ctype: ctype}
		return nil
	})
	return a, err
}

// url is name's address with its content hash ("" when the asset is not
// built in, e.g. the WeCom JS-SDK without npm).
func (a *assetSet) url(name string) string {
	f, ok := a.files[name]
	if !ok {
		return ""
	}
	return "/assets/" + name + "?v=" + f.hash
}

// has reports whether name is built in.
func (a *assetSet) has(name string) bool { _, ok := a.files[name]; return ok }

// gzipSize is name's size as sent compressed (0 when absent).
func (a *assetSet) gzipSize(name string) int {
	if f, ok := a.files[name]; ok {
		return len(f.gz)
	}
	return 0
}

func (cons *Console) serveAsset(c *fiber.Ctx) error {
	f, ok := cons.assets.files[c.Params("*")]
	if !ok {
		return c.Status(fiber.StatusNotFound).SendString("no such asset")
	}
	c.Set(fiber.HeaderContentType, f.ctype)
	c.Set("X-Content-Type-Options", "nosniff")
	if c.Query("v") == f.hash {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	c.Vary(fiber.HeaderAcceptEncoding)
	if strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(f.gz)
	}
	return c.Send(f.body)
}
