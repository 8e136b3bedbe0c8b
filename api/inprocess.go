package api

import (
	"context"
	"net"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// The web console is a client of this API: its pages are rendered on the
// server from answers of the /v1 routes, served in-process through the same
// router (Call), so that the console shows exactly what the API would give
// the browser's own session: the same walls, validation and errors.

// parentKey carries an in-process request's parent context (requestContext
// derives the request's deadline from it, so that a page's deadline and its
// client's disconnect end the API calls it makes).
type parentKey struct{}

// UI is a part of the site served beside the API (the console): Mount adds
// its routes before the API's catch-all 404.
type UI interface {
	Mount(app *fiber.App, api Caller)
}

// Caller serves a request in-process (Server.Call).
type Caller interface {
	Call(ctx context.Context, req *fasthttp.Request, remote net.Addr, resp *fasthttp.Response)
}

// inProcess serves requests through the app's router without a socket.
type inProcess struct {
	app     *fiber.App
	once    sync.Once
	handler fasthttp.RequestHandler
}

// Call serves req as if it came from remote, under ctx, and copies the
// answer into resp. A streamed body is read whole.
func (p *inProcess) Call(ctx context.Context, req *fasthttp.Request, remote net.Addr, resp *fasthttp.Response) {
	p.once.Do(func() { p.handler = p.app.Handler() })
	var rc fasthttp.RequestCtx
	rc.Init(req, remote, nil)
	rc.SetUserValue(parentKey{}, ctx)
	p.handler(&rc)
	rc.Response.CopyTo(resp)
}

// parentContext is an in-process request's parent context, or Background.
func parentContext(c *fiber.Ctx) context.Context {
	if ctx, ok := c.Context().UserValue(parentKey{}).(context.Context); ok {
		return ctx
	}
	return context.Background()
}
