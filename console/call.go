package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/siyu-dev/siyu/api"
)

// apiError is the API's error body, shown to the person as it is: its
// message says what to do.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// client calls the API in-process on behalf of one browser request: with
// its session cookie and CSRF token and its client address, under its
// request context, so the API's walls and validation apply unchanged.
type client struct {
	api    api.Caller
	ctx    context.Context
	cookie string // the session token
	csrf   string
	remote net.Addr
}

func (cons *Console) clientOf(c *fiber.Ctx) *client {
	cl := &client{api: cons.api, ctx: c.UserContext(), cookie: c.Cookies(api.SessionCookie), remote: c.Context().RemoteAddr()}
	if u := userOf(c); u != nil {
		cl.csrf = u.CSRF
	}
	return cl
}

// do sends method path (with query q) and body (JSON unless nil), and
// decodes a 2xx answer into out (unless nil). A non-2xx answer is an
// *apiError. Extra headers come in pairs.
func (cl *client) do(method, path string, q url.Values, body, out any, headers ...string) (*fasthttp.Response, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := &fasthttp.Response{}
	uri := path
	if len(q) > 0 {
		uri += "?" + q.Encode()
	}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("console.local")
	if cl.cookie != "" {
		req.Header.SetCookie(api.SessionCookie, cl.cookie)
	}
	if cl.csrf != "" && method != fiber.MethodGet {
		req.Header.Set(api.CSRFHeader, cl.csrf)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		req.Header.SetContentType(fiber.MIMEApplicationJSON)
		req.SetBody(b)
	}
	cl.api.Call(cl.ctx, req, cl.remote, resp)
	status := resp.StatusCode()
	if status < 200 || status > 299 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(resp.Body(), &e) != nil || e.Error.Message == "" {
			e.Error = apiError{Code: "unavailable", Message: strings.TrimSpace(string(resp.Body()))}
		}
		e.Error.Status = status
		return resp, &e.Error
	}
	if out != nil && status != fiber.StatusNoContent {
		dec := json.NewDecoder(bytes.NewReader(resp.Body()))
		if err := dec.Decode(out); err != nil {
			return resp, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return resp, nil
}

func (cl *client) get(path string, q url.Values, out any) error {
	_, err := cl.do(fiber.MethodGet, path, q, nil, out)
	return err
}

func (cl *client) send(method, path string, body, out any) error {
	_, err := cl.do(method, path, nil, body, out)
	return err
}

// within is cl with its calls bounded by d (and by cl's own context);
// done releases the bound.
func (cl *client) within(d time.Duration) (bounded *client, done func()) {
	c := *cl
	c.ctx, done = context.WithTimeout(cl.ctx, d)
	return &c, done
}

// sectionBudget is how long a page waits for one section's answer before
// it shows the section as loading (pending) rather than keep the person
// waiting: a large tenant's read models load for ~20 s after a restart,
// and ClickHouse's answer meanwhile may take longer than this.
const sectionBudget = 1500 * time.Millisecond

// pending sets *p and clears err when err says the answer is not ready in
// time (503: the request's deadline passed, or a dependency is busy); any
// other error stays.
func pending(err error, p *bool) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable {
		*p = true
		return nil
	}
	return err
}

// together makes a page's independent API calls at once (a page costs its
// slowest call, not their sum) and returns the first error in their order.
func together(calls ...func() error) error {
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = call()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
