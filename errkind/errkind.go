// Package errkind is the handful of kinds a domain error may have
// (validation, not found, conflict, forbidden, unavailable...), so that
// domain packages say what went wrong without knowing HTTP, and the API
// maps each kind to a status in one place (api/errors.go). A domain
// package returns a sentinel made with New, wraps one with %w, or gives
// its own error type a Describe method; callers match kinds with Of, and
// particular errors with errors.Is and errors.As as before.
package errkind

// Kind is what went wrong, as a caller should act on it.
type Kind uint8

// The kinds. Internal (the zero Kind) is everything not described: our
// bug or a failure the caller cannot help.
const (
	Internal      Kind = iota
	Validation         // the request is wrong: fix it, do not retry as is
	Unauthorized       // who is asking is not known
	Forbidden          // the caller may not do this
	NotFound           // the thing named does not exist (for this caller)
	Conflict           // the state does not allow it (already done, taken)
	TooLarge           // larger than can ever be stored
	Unprocessable      // well formed, but over a limit of the tenant's
	Unavailable        // a dependency failed: nothing was done, retry
	RateLimited        // too many tries: wait, then retry
)

var names = [...]string{"internal", "validation", "unauthorized", "forbidden", "not found", "conflict",
	"too large", "unprocessable", "unavailable", "rate limited"}

func (k Kind) String() string {
	if int(k) < len(names) {
		return names[k]
	}
	return "internal"
}

// Error is an error of a kind: its text (Msg), the input at fault when
// one is (Field), a finer machine code than the kind's own when the caller
// needs one (Code, e.g. "not_decider"), and what the caller reads when it
// is not the error's whole text (Public).
type Error struct {
	Kind   Kind
	Msg    string
	Field  string
	Code   string
	Public string
}

// New returns an error of kind k reading msg, for a sentinel.
func New(k Kind, msg string) error { return &Error{Kind: k, Msg: msg} }

func (e *Error) Error() string { return e.Msg }

// Describer is a domain error type that knows its kind (a type with
// fields of its own, like a validation error naming a field): Describe
// returns the kind, and as Public what the caller reads.
type Describer interface {
	error
	Describe() Error
}

// Of returns the kind of the first error in err's chain that has one, with
// its field, code and public text; Internal and false when none has.
func Of(err error) (Error, bool) {
	for err != nil {
		switch e := err.(type) {
		case *Error:
			return *e, true
		case Describer:
			return e.Describe(), true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			return ofAny(u.Unwrap())
		default:
			return Error{}, false
		}
	}
	return Error{}, false
}

func ofAny(errs []error) (Error, bool) {
	for _, err := range errs {
		if e, ok := Of(err); ok {
			return e, true
		}
	}
	return Error{}, false
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool {
	e, ok := Of(err)
	return ok && e.Kind == k
}
