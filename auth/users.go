package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/event"
	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// Console users are people who sign in to the web console with a login
// and a password (or through WeCom OAuth, by their staff id), as opposed
// to API keys, which scripts hold. A user has the same roles as a key and
// the same walls apply to both: a signed-in user is a Principal.

// The defaults of console users and sessions.
const (
	// DefaultSessionTTL is how long a session lasts from sign-in (not
	// renewed by use): a week, the usual "keep me signed in" of an office
	// tool; a user ends it sooner by signing out.
	DefaultSessionTTL = 7 * 24 * time.Hour
	// SessionCacheTTL is how long a replica trusts a session it has
	// checked. A sign-out, sign-out-everywhere or user change takes effect
	// at once on the replica that made it, and within this on the others.
	SessionCacheTTL = 2 * time.Second
	// DefaultSignInBurst and DefaultSignInEvery throttle failed sign-ins of
	// one login: 5 failures, then one try every 30 s (an online guess at a
	// 10-character password is hopeless at 2 a minute; a user who mistypes
	// a few times never meets the limit). A success resets the login.
	DefaultSignInBurst = 5
	DefaultSignInEvery = 30 * time.Second
	// DefaultSignInClientBurst throttles the failed sign-ins of one client
	// address (whatever the logins), at the same rate: larger than a
	// login's, since an office signs in from behind one address.
	DefaultSignInClientBurst = 20
	// sessionCacheSize bounds the sessions a replica remembers (about
	// 300 bytes each: 3 MB).
	sessionCacheSize = 10_000
	// throttledKeys bounds the logins and addresses whose failures are
	// remembered; one pushed out starts again with a full burst.
	throttledKeys = 65_536
	// MaxConcurrentHashes bounds the password hashes computed at once: each
	// takes DefaultPasswordParams.Memory (64 MiB), so a burst of sign-ins
	// from many addresses costs at most 256 MiB and waits its turn.
	MaxConcurrentHashes = 4
)

// The errors of console users.
var (
	// ErrNoUser is a login no console user has.
	ErrNoUser error = &errkind.Error{Kind: errkind.NotFound, Msg: "no such console user",
		Public: "no console user has this login"}
	// ErrLoginTaken is a login another user has (logins are unique across
	// the deployment, not per tenant).
	ErrLoginTaken error = &errkind.Error{Kind: errkind.Conflict, Field: "login", Msg: "login taken",
		Public: "login taken: another console user (maybe of another tenant) has it; choose another"}
	// ErrBadCredentials refuses a sign-in, whether the login is unknown,
	// the user disabled or the password wrong: the caller cannot tell which.
	ErrBadCredentials error = &errkind.Error{Kind: errkind.Unauthorized, Code: "bad_credentials",
		Msg: "bad credentials", Public: "wrong login or password"}
	// ErrNoConsoleUser refuses a WeCom sign-in of a staff member no enabled
	// console user of the tenant stands for.
	ErrNoConsoleUser error = &errkind.Error{Kind: errkind.Forbidden, Code: "no_console_user",
		Msg: "no console user for this staff id",
		Public: "you have no console account yet: ask an admin of your company to create a console user " +
			"with your WeCom userid as its staff_id (POST /v1/users or `siyu users create --staff-id`)"}
	// ErrNoSession is a session token that is unknown, signed out,
	// expired, voided by sign-out-everywhere, or of a disabled user.
	ErrNoSession error = &errkind.Error{Kind: errkind.Unauthorized, Code: "signed_out",
		Msg: "no such session", Public: "signed out: sign in again"}
)

// SignInThrottledError refuses a sign-in of a login or from an address
// that failed too often; the password was not checked.
type SignInThrottledError struct {
	RetryAfter time.Duration // how long until the next try is allowed
}

func (e *SignInThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: retry in %s", e.RetryAfter.Round(time.Second))
}

// Describe makes it a RateLimited error (429).
func (e *SignInThrottledError) Describe() errkind.Error {
	secs := max(1, int((e.RetryAfter+time.Second-1)/time.Second))
	return errkind.Error{Kind: errkind.RateLimited, Code: "too_many_sign_ins", Msg: e.Error(),
		Public: fmt.Sprintf("too many failed sign-ins for this login or from this address: retry in %d s", secs)}
}

// User is a console user as callers see it: never its password hash.
type User struct {
	Login     string    `json:"login"`
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	StaffID   string    `json:"staff_id,omitempty"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewUser is a console user to create.
type NewUser struct {
	Login, Tenant, Name string
	Role                Role
	StaffID, Password   string
}

// Login and name bounds.
const (
	MinLoginLen = 3
	MaxLoginLen = 64
	MaxNameLen  = 128 // characters
)

// ValidLogin reports whether s is a well-formed login: 3 to 64 characters
// of a-z, 0-9, '.', '_', '@' and '-' (an email address in lower case is one).
func ValidLogin(s string) bool {
	if len(s) < MinLoginLen || len(s) > MaxLoginLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-') {
			return false
		}
	}
	return true
}

// Validate checks every field; the error is a validation error naming the
// field at fault.
func (n NewUser) Validate() error {
	if !ValidLogin(n.Login) {
		return invalidField("login", loginRule)
	}
	if !event.ValidTenant(n.Tenant) {
		return invalidField("tenant", "a tenant id matches [a-z0-9][a-z0-9_-]{0,63}")
	}
	if err := checkName(n.Name); err != nil {
		return err
	}
	if err := checkRole(n.Role, n.StaffID); err != nil {
		return err
	}
	if err := CheckPassword(n.Password); err != nil {
		return invalidField("password", err.Error())
	}
	return nil
}

const loginRule = "a login has 3 to 64 characters of a-z, 0-9, '.', '_', '@' and '-' (lower case)"

func checkName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen {
		return invalidField("name", fmt.Sprintf("a name has at most %d characters of valid UTF-8", MaxNameLen))
	}
	return nil
}

func checkRole(r Role, staffID string) error {
	if _, err := ParseRole(string(r)); err != nil {
		return invalidField("role", err.Error())
	}
	if staffID != "" {
		if err := event.CheckID("staff_id", staffID); err != nil {
			ve, _ := event.AsValidation(err)
			return invalidField("staff_id", "staff_id "+ve.Reason)
		}
	}
	if r == RoleRep && staffID == "" {
		return invalidField("staff_id", "a rep needs a staff_id: their WeCom userid")
	}
	return nil
}

func invalidField(field, reason string) error {
	return &errkind.Error{Kind: errkind.Validation, Field: field, Msg: field + ": " + reason, Public: reason}
}

// UserUpdate changes a console user: each field set replaces the user's.
// A new password or disabling the user also ends every session of theirs.
type UserUpdate struct {
	Name     *string
	Role     *Role
	StaffID  *string
	Disabled *bool
	Password *string
}

// Session is a session just created: Token is what the browser holds (a
// cookie) and is never shown again; only its SHA-256 is stored. CSRF is
// the token a cookie-authenticated write must carry back in a header.
type Session struct {
	Token, CSRF, Login, Tenant string
	Expires                    time.Time
	User                       User // who signed in
}

// SessionInfo describes a live session (never its token).
type SessionInfo struct {
	Login, Tenant, CSRF string
	Created, Expires    time.Time
}

// Users stores console users and their sessions in ClickHouse. Sessions
// it has checked are cached for SessionCacheTTL at most (see Session).
type Users struct {
	conn    driver.Conn
	ttl     time.Duration
	params  PasswordParams
	signins *prometheus.CounterVec
	logins  *failureLimiter[string]
	clients *failureLimiter[clientKey]
	now     func() time.Time // tests replace it

	hashing   chan struct{} // a slot per hash computed at once (MaxConcurrentHashes)
	dummyOnce sync.Once
	dummy     string // a hash to check unknown logins against, so they take as long

	mu    sync.Mutex
	cache *lru[keySum, sessionEntry]
}

// UserOption configures Users.
type UserOption func(*Users)

// WithSessionTTL sets how long a session lasts (DefaultSessionTTL).
func WithSessionTTL(d time.Duration) UserOption {
	return func(u *Users) {
		if d > 0 {
			u.ttl = d
		}
	}
}

// WithPasswordParams sets the argon2id costs of new password hashes
// (DefaultPasswordParams); tests use cheap ones.
func WithPasswordParams(p PasswordParams) UserOption {
	return func(u *Users) { u.params = p }
}

// WithSignInLimit sets the throttle of failed sign-ins: burst failures of
// a login (and 4·burst from one address), then one try per every.
func WithSignInLimit(burst int, every time.Duration) UserOption {
	return func(u *Users) {
		if burst > 0 && every > 0 {
			rate := 1 / every.Seconds()
			u.logins = newFailureLimiter[string](burst, rate, throttledKeys)
			u.clients = newFailureLimiter[clientKey](4*burst, rate, throttledKeys)
		}
	}
}

// NewUsers returns the console user store; reg (may be nil) gets
// siyu_console_signins_total{result="ok|bad_credentials|throttled"}.
func NewUsers(conn driver.Conn, reg prometheus.Registerer, opts ...UserOption) *Users {
	rate := 1 / DefaultSignInEvery.Seconds()
	u := &Users{
		conn: conn, ttl: DefaultSessionTTL, params: DefaultPasswordParams, now: time.Now,
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_console_signins_total", Help: "Console sign-ins, by result.",
		}, []string{"result"}),
		logins:  newFailureLimiter[string](DefaultSignInBurst, rate, throttledKeys),
		clients: newFailureLimiter[clientKey](DefaultSignInClientBurst, rate, throttledKeys),
		cache:   newLRU[keySum, sessionEntry](sessionCacheSize),
		hashing: make(chan struct{}, MaxConcurrentHashes),
	}
	for _, opt := range opts {
		opt(u)
	}
	for _, r := range []string{signInOK, signInBad, signInThrottled} {
		u.signins.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(u.signins)
	}
	return u
}

// The results of a sign-in: siyu_console_signins_total's label.
const (
	signInOK        = "ok"
	signInBad       = "bad_credentials"
	signInThrottled = "throttled"
)

// userRow is a user as stored.
type userRow struct {
	User
	hash          string
	sessionsAfter uint64 // ms: sessions created at or before it are void
	version       uint64
}

var (
	qUserGet  = siyusql.Query("console_user_get")
	qUserList = siyusql.Query("console_user_list")
)

// Create stores a new user; ErrLoginTaken when the login exists. Two
// creations of one login at the same instant on two replicas both pass the
// check (ClickHouse has no unique keys): the later version wins.
func (u *Users) Create(ctx context.Context, n NewUser) (User, error) {
	if err := n.Validate(); err != nil {
		return User{}, err
	}
	switch _, err := u.get(ctx, n.Login); {
	case err == nil:
		return User{}, ErrLoginTaken
	case !errors.Is(err, ErrNoUser):
		return User{}, err
	}
	hash, err := u.hash(ctx, n.Password)
	if err != nil {
		return User{}, err
	}
	now := u.now()
	at := now.UTC().Truncate(time.Second)
	r := userRow{User: User{Login: n.Login, Tenant: n.Tenant, Name: n.Name, Role: n.Role, StaffID: n.StaffID,
		CreatedAt: at, UpdatedAt: at}, hash: hash, version: uint64(now.UnixNano())}
	if err := u.write(ctx, r); err != nil {
		return User{}, err
	}
	return r.User, nil
}

// Get returns the user with login, or ErrNoUser.
func (u *Users) Get(ctx context.Context, login string) (User, error) {
	r, err := u.get(ctx, login)
	return r.User, err
}

// List returns the users of tenant, by login.
func (u *Users) List(ctx context.Context, tenant string) ([]User, error) {
	rows, err := u.list(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.User
	}
	return out, nil
}

// Update changes the user with login (ErrNoUser if none). A new password
// or disabling ends every session of the user (as SignOutEverywhere).
func (u *Users) Update(ctx context.Context, login string, up UserUpdate) (User, error) {
	r, err := u.get(ctx, login)
	if err != nil {
		return User{}, err
	}
	now := u.now()
	endSessions := false
	if up.Name != nil {
		if err := checkName(*up.Name); err != nil {
			return User{}, err
		}
		r.Name = *up.Name
	}
	if up.Role != nil {
		r.Role = *up.Role
	}
	if up.StaffID != nil {
		r.StaffID = *up.StaffID
	}
	if err := checkRole(r.Role, r.StaffID); err != nil {
		return User{}, err
	}
	if up.Disabled != nil {
		endSessions = endSessions || (*up.Disabled && !r.Disabled)
		r.Disabled = *up.Disabled
	}
	if up.Password != nil {
		hash, err := u.hash(ctx, *up.Password)
		if err != nil {
			return User{}, err
		}
		r.hash, endSessions = hash, true
	}
	if endSessions {
		r.sessionsAfter = uint64(now.UnixMilli())
	}
	if err := u.save(ctx, r, now); err != nil {
		return User{}, err
	}
	return r.User, nil
}

// save writes r as the user's next version and forgets its cached sessions.
func (u *Users) save(ctx context.Context, r userRow, now time.Time) error {
	r.UpdatedAt = now.UTC().Truncate(time.Second)
	r.version = max(uint64(now.UnixNano()), r.version+1)
	if err := u.write(ctx, r); err != nil {
		return err
	}
	u.forgetLogin(r.Login)
	return nil
}

func (u *Users) write(ctx context.Context, r userRow) error {
	err := store.Insert(ctx, u.conn,
		"INSERT INTO console_users (login, tenant, name, role, staff_id, password_hash, disabled, "+
			"sessions_after_ms, created_at, updated_at, version)",
		[]any{r.Login, r.Tenant, r.Name, string(r.Role), r.StaffID, r.hash, boolByte(r.Disabled),
			r.sessionsAfter, r.CreatedAt, r.UpdatedAt, r.version})
	if err != nil {
		return fmt.Errorf("store console user: %w", err)
	}
	return nil
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (u *Users) get(ctx context.Context, login string) (userRow, error) {
	if !ValidLogin(login) {
		return userRow{}, ErrNoUser
	}
	rows, err := u.conn.Query(ctx, qUserGet, clickhouse.Named("login", login))
	if err != nil {
		return userRow{}, fmt.Errorf("get console user: %w", err)
	}
	got, err := scanUsers(rows)
	if err != nil {
		return userRow{}, fmt.Errorf("get console user: %w", err)
	}
	if len(got) == 0 {
		return userRow{}, ErrNoUser
	}
	return got[0], nil
}

func (u *Users) list(ctx context.Context, tenant string) ([]userRow, error) {
	rows, err := u.conn.Query(ctx, qUserList, clickhouse.Named("tenant", tenant))
	if err != nil {
		return nil, fmt.Errorf("list console users: %w", err)
	}
	got, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("list console users: %w", err)
	}
	return got, nil
}

func scanUsers(rows driver.Rows) ([]userRow, error) {
	defer rows.Close()
	var out []userRow
	for rows.Next() {
		var r userRow
		var role string
		var disabled uint8
		if err := rows.Scan(&r.Login, &r.Tenant, &r.Name, &role, &r.StaffID, &r.hash, &disabled,
			&r.sessionsAfter, &r.CreatedAt, &r.UpdatedAt, &r.version); err != nil {
			return nil, err
		}
		r.Role, r.Disabled = Role(role), disabled != 0
		r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// SignIn checks a login and password and opens a session. Whether the
// login is unknown, the user disabled or the password wrong, it answers
// ErrBadCredentials after the same work (an unknown login is checked
// against a dummy hash). Failures are throttled per login and per client
// address (DefaultSignInBurst, DefaultSignInClientBurst, WithSignInLimit):
// past them it answers a *SignInThrottledError without checking the
// password. A success resets the login's failures (not the address's).
// client is the caller's address (Fiber's c.IP()); it is parsed, not kept.
func (u *Users) SignIn(ctx context.Context, login, password, client string) (Session, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	if len(login) > MaxLoginLen {
		login = login[:MaxLoginLen] // bounds the limiter's keys; such a login never exists
	}
	login = strings.Clone(login)
	from, now := clientOf(client), u.now()
	wait1, ok1 := u.logins.allow(login, now)
	wait2, ok2 := u.clients.allow(from, now)
	if !ok1 || !ok2 {
		u.signins.WithLabelValues(signInThrottled).Inc()
		return Session{}, &SignInThrottledError{RetryAfter: max(wait1, wait2)}
	}
	r, err := u.get(ctx, login)
	if err != nil && !errors.Is(err, ErrNoUser) {
		return Session{}, err
	}
	hash := r.hash
	if err != nil {
		hash = u.dummyHash()
	}
	verified, verr := u.verify(ctx, password, hash)
	if verr != nil {
		return Session{}, verr
	}
	if !verified || err != nil || r.Disabled {
		u.logins.spend(login, now)
		u.clients.spend(from, now)
		u.signins.WithLabelValues(signInBad).Inc()
		return Session{}, ErrBadCredentials
	}
	u.logins.reset(login)
	u.signins.WithLabelValues(signInOK).Inc()
	return u.open(ctx, r, now)
}

// hash hashes a new password when a hashing slot is free.
func (u *Users) hash(ctx context.Context, pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", invalidField("password", err.Error())
	}
	if err := u.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-u.hashing }()
	return HashPassword(pw, u.params)
}

// verify checks pw against hash when a hashing slot is free.
func (u *Users) verify(ctx context.Context, pw, hash string) (bool, error) {
	if err := u.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-u.hashing }()
	return VerifyPassword(pw, hash) == nil, nil
}

func (u *Users) acquire(ctx context.Context) error {
	select {
	case u.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait to check a password: %w", ctx.Err())
	}
}

// dummyHash is a hash of a password nobody has, with the costs of new
// hashes, made once.
func (u *Users) dummyHash() string {
	u.dummyOnce.Do(func() {
		h, err := HashPassword("not a password of anyone's", u.params)
		if err != nil {
			panic(err) // the password is within the bounds: only a broken rand fails
		}
		u.dummy = h
	})
	return u.dummy
}

// ErrSignInRefused marks a refusal of a WeCom sign-in by WeCom (a wrong,
// used or expired code; not a member): SignInWeCom's userID joins it to its
// own error (errors.Join), and the client's budget is spent.
var ErrSignInRefused = errors.New("sign-in refused")

// SignInWeCom signs in the console user whose staff id WeCom names for a
// sign-in code (userID asks WeCom), throttled per client address as
// SignIn is: each code WeCom refuses and each person without a console user
// spends the address's budget, so nobody can try codes (each a call to
// WeCom) or staff ids without limit.
func (u *Users) SignInWeCom(ctx context.Context, tenant, client string, userID func(context.Context) (string, error)) (Session, error) {
	from, now := clientOf(client), u.now()
	if wait, ok := u.clients.allow(from, now); !ok {
		u.signins.WithLabelValues(signInThrottled).Inc()
		return Session{}, &SignInThrottledError{RetryAfter: wait}
	}
	staff, err := userID(ctx)
	if err == nil {
		var sess Session
		if sess, err = u.SignInStaff(ctx, tenant, staff, client); err == nil {
			return sess, nil
		}
	}
	if errors.Is(err, ErrSignInRefused) || errors.Is(err, ErrNoConsoleUser) {
		u.clients.spend(from, now)
		u.signins.WithLabelValues(signInBad).Inc()
	}
	return Session{}, err
}

// SignInStaff opens a session for the WeCom staff member staffID of
// tenant, whom WeCom OAuth has identified: the enabled user of the tenant
// with that staff id (if several, a rep first, then the first by login);
// ErrNoConsoleUser when there is none. client is the caller's address,
// for symmetry with SignIn (WeCom already checked who is signing in).
func (u *Users) SignInStaff(ctx context.Context, tenant, staffID, client string) (Session, error) {
	_ = client
	if staffID == "" {
		return Session{}, ErrNoConsoleUser
	}
	rows, err := u.list(ctx, tenant)
	if err != nil {
		return Session{}, err
	}
	var pick *userRow
	for i := range rows {
		r := &rows[i]
		if r.Disabled || r.StaffID != staffID {
			continue
		}
		if pick == nil || (r.Role == RoleRep && pick.Role != RoleRep) {
			pick = r
		}
	}
	if pick == nil {
		return Session{}, ErrNoConsoleUser
	}
	u.signins.WithLabelValues(signInOK).Inc()
	return u.open(ctx, *pick, u.now())
}
