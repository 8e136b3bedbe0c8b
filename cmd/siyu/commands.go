package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/store"
)

func serveCommand(stderr io.Writer) *command {
	cfg := DefaultConfig()
	return &command{
		config: &cfg,
		name:   "serve", summary: "run the HTTP API and the web console only (production)", usage: "[flags]",
		detail: "Serves the API and the web console (/login, /app/..., the WeCom sidebar /sidebar) against an existing\nClickHouse (migrated with `siyu migrate up`) and Kafka.\n" +
			"Reads scale out: run as many as you need behind a load balancer. Pool changes (claims,\n" +
			"releases, assignments, transfers, departures, pool rules, the recycle sweep) are decided by\n" +
			"one replica only, elected through Kafka (consumer group siyu-pool-decider on the topic\n" +
			"<events topic>.pool-decider); the other replicas answer those writes 503 not_decider and do\n" +
			"not sweep. Send pool writes to the decider (its siyu_pool_decider metric is 1), or run one\n" +
			"siyu serve for them. If the decider stops, another replica takes over within seconds.\n" +
			"(Tag names and the tag limit are still checked per replica: docs/decisions.md, Tags 28.)",
		flags: func(fs *flag.FlagSet) {
			cfg.Storage.bind(fs)
			cfg.Kafka.bind(fs)
			cfg.Log.bind(fs)
			cfg.Ready.bind(fs)
			cfg.HTTP.bind(fs)
			cfg.WeCom.bind(fs)
			cfg.Ingest.bindGroup(fs)
		},
		run: func(ctx context.Context, _ []string) error {
			c, err := connect(ctx, &cfg, stderr)
			if err != nil {
				return err
			}
			defer c.close()
			return serveAPI(ctx, &cfg, c.conn, c.kafka, newRegistry(), c.log)
		},
	}
}

func ingestCommand(stderr io.Writer) *command {
	cfg := DefaultConfig()
	return &command{
		config: &cfg,
		name:   "ingest", summary: "run the Kafka → ClickHouse pipeline only (production)", usage: "[flags]",
		detail: "Consumes the events topic as a member of a consumer group: start several to share the\n" +
			"partitions. Offsets are committed only after ClickHouse has accepted each batch.\n" +
			"Invalid records go to the dead-letter topic (truncated when too large for it); rows\n" +
			"ClickHouse refuses for good are split out and dead-lettered; when it refuses every row\n" +
			"(a schema mismatch: run `siyu migrate up`), it exits 1 with nothing committed past them.\n" +
			"/readyz (on --metrics-addr) says not ready when ClickHouse or Kafka is gone or the group\n" +
			"has committed nothing for --ingest-stall-after while events wait.",
		flags: func(fs *flag.FlagSet) {
			cfg.Storage.bind(fs)
			cfg.Kafka.bind(fs)
			cfg.Ingest.bind(fs)
			cfg.Ingest.bindProcess(fs)
			cfg.Log.bind(fs)
			cfg.Ready.bind(fs)
		},
		run: func(ctx context.Context, _ []string) error {
			c, err := connect(ctx, &cfg, stderr)
			if err != nil {
				return err
			}
			defer c.close()
			conn, log := c.conn, c.log
			setMemoryLimit(cfg.Ingest.memoryMB, log)
			reg := newRegistry()
			icfg := cfg.Ingest.config(c.brokers, cfg.Kafka.topics())
			progress, err := kafka.NewProgress(c.kafka, icfg.Group, icfg.Topics.Events, cfg.Ready.progress(), reg)
			if err != nil {
				return err
			}
			parts := []part{
				{"ingest", func(ctx context.Context) error { return runIngest(ctx, conn, icfg, reg, log) }},
				{"ingest progress", progress.Run},
			}
			if addr := cfg.Ingest.metricsAddr; addr != "" {
				ready := api.ReadinessCheck(conn, c.kafka, ingestCheck(progress))
				parts = append(parts, part{"metrics server", func(ctx context.Context) error { return serveMetrics(ctx, addr, reg, ready) }})
			}
			return runParts(ctx, servicesStopWithin, log, parts...)
		},
	}
}

// connection is what `serve` and `ingest` share: a logger, ClickHouse, and a
// Kafka client with the topics in place.
type connection struct {
	log     *slog.Logger
	conn    driver.Conn
	brokers []string
	kafka   *kgo.Client
}

func connect(ctx context.Context, cfg *Config, stderr io.Writer) (*connection, error) {
	log, err := cfg.Log.logger(stderr)
	if err != nil {
		return nil, err
	}
	dsn, err := cfg.Storage.resolveDSN()
	if err != nil {
		return nil, err
	}
	brokers, err := cfg.Kafka.resolveBrokers(cfg.Storage.dataDir)
	if err != nil {
		return nil, err
	}
	conn, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	cl, err := openKafka(ctx, brokers, cfg.Kafka.topics())
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &connection{log: log, conn: conn, brokers: brokers, kafka: cl}, nil
}

func (c *connection) close() {
	c.kafka.Close()
	c.conn.Close()
}

func migrateCommand(stdout, stderr io.Writer) *command {
	cfg := DefaultConfig()
	st, lf := &cfg.Storage, &cfg.Log
	var to int
	return &command{
		config: &cfg,
		name:   "migrate", summary: "apply or list ClickHouse schema migrations", usage: "up|status [flags]",
		detail: "up      applies every pending migration (idempotent; safe to run again)\n" +
			"status  lists the migrations and whether each is applied",
		flags: func(fs *flag.FlagSet) {
			st.bind(fs)
			lf.bind(fs)
			fs.IntVar(&to, "to", math.MaxInt32, "with up: apply migrations up to this version only")
		},
		run: func(ctx context.Context, args []string) error {
			if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
				return fmt.Errorf("%w: want `siyu migrate up` or `siyu migrate status`", errUsage)
			}
			log, err := lf.logger(stderr)
			if err != nil {
				return err
			}
			conn, err := st.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			if args[0] == "up" {
				n, err := store.MigrateTo(ctx, conn, log, to)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
				return nil
			}
			return printMigrationStatus(ctx, stdout, conn)
		},
	}
}

func printMigrationStatus(ctx context.Context, w io.Writer, conn driver.Conn) error {
	status, err := store.Status(ctx, conn)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
	for _, s := range status {
		at := "pending"
		if s.Applied {
			at = "yes"
			if !s.AppliedAt.IsZero() {
				at = s.AppliedAt.Format("2006-01-02 15:04:05Z")
			}
		}
		fmt.Fprintf(tw, "%04d\t%s\t%s\n", s.Version, s.Name, at)
	}
	return tw.Flush()
}

func keysCommand(stdout, stderr io.Writer) *command {
	cfg := DefaultConfig()
	st := &cfg.Storage
	var tenant, role, staffID, name string
	return &command{
		config: &cfg,
		name:   "keys", summary: "create API keys", usage: "create --tenant T --role R [--staff-id S] [--name N]",
		detail: "Prints a new API key once; only its hash is stored. Roles: admin, manager, rep (needs\n" +
			"--staff-id), marketer, exec, billing, platform (the operator, across tenants).",
		flags: func(fs *flag.FlagSet) {
			st.bind(fs)
			fs.StringVar(&tenant, "tenant", "", "the tenant the key belongs to")
			fs.StringVar(&role, "role", "", "admin, manager, rep, marketer, exec, billing or platform")
			fs.StringVar(&staffID, "staff-id", "", "the rep's WeCom userid (role rep)")
			fs.StringVar(&name, "name", "", "a label for the key, e.g. who holds it")
		},
		run: func(ctx context.Context, args []string) error {
			if len(args) != 1 || args[0] != "create" {
				return fmt.Errorf("%w: want `siyu keys create --tenant T --role R`", errUsage)
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return fmt.Errorf("%w: --role: %v", errUsage, err)
			}
			req := auth.NewKeyRequest{Tenant: tenant, Role: r, StaffID: staffID, Name: name}
			if err := req.Validate(); err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			conn, err := st.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			key, err := auth.NewKeys(conn, 0).Create(ctx, req)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, key)
			fmt.Fprintf(stderr, "created a %s key for tenant %s; keep it secret, it is not shown again\n", r, tenant)
			return nil
		},
	}
}

func usersCommand(stdin io.Reader, stdout, stderr io.Writer) *command {
	cfg := DefaultConfig()
	st := &cfg.Storage
	var tenant, login, role, staffID, name string
	return &command{
		config: &cfg,
		name:   "users", summary: "create console users", usage: "create --tenant T --login L --role R [--staff-id S] [--name N]",
		detail: "Creates a user of the web console, who signs in with the login and a password (or, with a\n" +
			"--staff-id, through WeCom). The password is read from SIYU_PASSWORD, else from the first line\n" +
			"of stdin (never a flag: flags show in ps and shell history); only its argon2id hash is stored.\n" +
			"Logins are unique across tenants: 3-64 characters of a-z, 0-9, '.', '_', '@', '-'. Roles as\n" +
			"for keys; a rep needs --staff-id. Admins manage users afterwards in the console (/v1/users).",
		flags: func(fs *flag.FlagSet) {
			st.bind(fs)
			fs.StringVar(&tenant, "tenant", "", "the tenant the user belongs to")
			fs.StringVar(&login, "login", "", "the login, e.g. an email address in lower case")
			fs.StringVar(&role, "role", "", "admin, manager, rep, marketer, exec, billing or platform")
			fs.StringVar(&staffID, "staff-id", "", "the user's WeCom userid (needed for role rep and WeCom sign-in)")
			fs.StringVar(&name, "name", "", "the user's name, as the console shows it")
		},
		run: func(ctx context.Context, args []string) error {
			if len(args) != 1 || args[0] != "create" {
				return fmt.Errorf("%w: want `siyu users create --tenant T --login L --role R`", errUsage)
			}
			pw, err := readPassword(stdin, stderr)
			if err != nil {
				return err
			}
			u := auth.NewUser{Login: login, Tenant: tenant, Name: name, Role: auth.Role(role), StaffID: staffID, Password: pw}
			if err := u.Validate(); err != nil {
				return fmt.Errorf("%w: %s", errUsage, userFlagError(err))
			}
			conn, err := st.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			if _, err := auth.NewUsers(conn, nil).Create(ctx, u); err != nil {
				return fmt.Errorf("create user %s: %w", login, err)
			}
			fmt.Fprintln(stdout, login)
			fmt.Fprintf(stderr, "created console user %s (%s) in tenant %s\n", login, role, tenant)
			return nil
		},
	}
}

// userFlagError names the flag (or SIYU_PASSWORD) a user field came from.
func userFlagError(err error) string {
	e, ok := errkind.Of(err)
	if !ok || e.Field == "" {
		return err.Error()
	}
	source := map[string]string{"password": "SIYU_PASSWORD or stdin", "staff_id": "--staff-id"}[e.Field]
	if source == "" {
		source = "--" + e.Field
	}
	return source + ": " + e.Public
}

// readPassword reads a password from SIYU_PASSWORD, else the first line of
// stdin (asking for it on stderr when stdin is a terminal).
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if pw, ok := os.LookupEnv("SIYU_PASSWORD"); ok {
		return pw, nil
	}
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "password (it shows as you type; SIYU_PASSWORD or a pipe avoids that): ")
		}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%w: no password: set SIYU_PASSWORD or pipe it on stdin", errUsage)
	}
	return pw, nil
}

// setMemoryLimit makes the garbage collector keep the heap under mb MiB, so
// that the pipeline's batches, not GC slack, decide its footprint.
func setMemoryLimit(mb int, log *slog.Logger) {
	if mb <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(mb) << 20)
	log.Info("memory limit set", "mib", mb)
}
