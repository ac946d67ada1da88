// Package sqlite is intakebot's embedded store: SQLite through
// modernc.org/sqlite (pure Go), WAL mode, migrations embedded and applied at
// open, one transaction per change. Answers and case details are sealed with
// internal/seal before they are written; the database file never holds them in
// plaintext. A commit is synced to disk before it returns or within a bound,
// by what it records: the contract is in durability.go.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ intake.Store = (*Store)(nil)

// Store implements intake.Store on a SQLite file.
type Store struct {
	// db is the one write connection (and the reads of rare paths); rdb
	// is the read pool for the hot reads, which under WAL never wait for
	// a write in progress.
	db     *sql.DB
	rdb    *sql.DB
	rs, ws map[string]*sql.Stmt // prepared hot statements on rdb and db
	cache  answerCache
	// bg admits one background write (the dispatcher's) at a time, so a
	// patient's write queues behind at most one of them.
	bg sync.Mutex
	// ckptMu serialises checkpoints; stopCkpt ends the background
	// checkpointer and ckptDone says it has ended.
	ckptMu   sync.Mutex
	stopCkpt context.CancelFunc
	ckptDone chan struct{}
	sealer   *seal.Sealer
	log      *slog.Logger
	// path is the database file's; its WAL is path+"-wal".
	path string
	// bulk (the scale benchmark's population builder only) makes synced
	// writes lazy too.
	bulk bool
	// commits counts the commits made; the checkpointer syncs the WAL
	// when it has moved.
	commits atomic.Uint64
	// Test hooks: onCommit sees each write transaction's synchronous level
	// just before it commits; onSync sees, after each round of the
	// checkpointer, how many commits its syncs have covered.
	onCommit func(level int)
	onSync   func(covered uint64)
	// Now is the clock; tests may replace it before use.
	Now func() time.Time
}

// DSN returns the connection string for path with the pragmas every pooled
// connection needs: foreign keys, a busy timeout, WAL, lazy commits
// (synchronous=NORMAL: no fsync per commit; the store syncs the writes
// that must not wait, and the checkpointer the rest, see durability.go),
// secure delete (deleted and
// overwritten values are zeroed in the file, not left in free space where
// the key would still open them) and immediate write transactions (no lock
// upgrades that deadlock under concurrency).
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "secure_delete(1)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path, applies migrations and
// checks that sealer's key is the one the database was written with.
//
// A new database is built whole under a temporary name and linked into place,
// so path never holds an empty or half-initialised file, and it is created
// mode 0600 (SQLite gives the -wal and -shm files the mode of the database).
// An existing file that others may read, an empty file, a damaged one or
// another program's database is refused with what to do.
func Open(ctx context.Context, path string, sealer *seal.Sealer, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := create(ctx, path, sealer, log); err != nil {
		return nil, err
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	if err := checkFormat(ctx, path); err != nil {
		return nil, describe(path, err)
	}
	s, err := open(path, sealer, log)
	if err != nil {
		return nil, err
	}
	if err := s.init(ctx); err != nil {
		s.db.Close()
		return nil, describe(path, err)
	}
	if err := s.prepare(ctx, path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func open(path string, sealer *seal.Sealer, log *slog.Logger) (*Store, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// One connection: writers queue in Go instead of colliding on SQLite's
	// lock, whose busy handler sleeps in growing steps (a 1.5s p99 with 50
	// concurrent patients, against tens of ms queued). Transactions are
	// short, so reads queueing behind them costs little.
	db.SetMaxOpenConns(1)
	return &Store{db: db, sealer: sealer, log: log, path: path, Now: time.Now}, nil
}

// init migrates the database and checks the key.
func (s *Store) init(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.checkKey(ctx); err != nil {
		return err
	}
	if err := s.hashPatients(ctx); err != nil {
		return err
	}
	return s.scrubOnce(ctx)
}

// scrubOnce rebuilds the database file once (VACUUM), so nothing deleted
// before secure_delete was turned on (answers erased by /forget-me, user
// ids replaced by their hash) survives in its free pages, then empties the
// WAL. New databases are scrubbed, empty, when they are created.
func (s *Store) scrubOnce(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM meta WHERE key = 'scrubbed'`).Scan(&n); err != nil {
		return fmt.Errorf("scrub: %w", err)
	} else if n > 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
		// Another process holds the database (VACUUM needs it alone): the
		// next open tries again; nothing is lost by waiting.
		s.log.Warn("database scrub deferred to the next start", slog.Any("err", err))
		return nil
	}
	if err := s.checkpoint(ctx); err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('scrubbed', ?) ON CONFLICT (key) DO NOTHING`, ms(time.Now())); err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	return nil
}

// hashPatients replaces the plaintext user ids written before migration
// 0007 with their keyed hash and sealed value, then clears them from the WAL.
func (s *Store) hashPatients(ctx context.Context) error {
	// Read first: the write lock is taken only when there is work.
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM patients WHERE hashed = 0`).Scan(&n); err != nil {
		return fmt.Errorf("hash patients: %w", err)
	} else if n == 0 {
		return nil
	}
	tx, done, err := s.begin(ctx, synced)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, channel, user_id FROM patients WHERE hashed = 0`)
	if err != nil {
		return fmt.Errorf("hash patients: %w", err)
	}
	var ps []intake.Patient
	for rows.Next() {
		var p intake.Patient
		if err := rows.Scan(&p.ID, &p.Channel, &p.UserID); err != nil {
			rows.Close()
			done()
			return fmt.Errorf("hash patients: %w", err)
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		done()
		return fmt.Errorf("hash patients: %w", err)
	}
	if len(ps) == 0 {
		done()
		return nil
	}
	for _, p := range ps {
		sealed, err := s.sealer.Seal([]byte(p.UserID), patientAD(p.ID))
		if err != nil {
			done()
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE patients SET user_id = ?, user_sealed = ?, hashed = 1 WHERE id = ?`,
			s.sealer.Hash(userKey(p.Channel, p.UserID)), sealed, p.ID); err != nil {
			done()
			return fmt.Errorf("hash patients: %w", err)
		}
	}
	err = s.commit(tx)
	// The write connection is released before the checkpoint uses it.
	done()
	if err != nil {
		return err
	}
	return s.checkpoint(ctx)
}

// create builds a new database at path if there is none: initialised under a
// temporary name in the same directory, then hard-linked to path, which fails
// if another process created it first (theirs is then used).
func create(ctx context.Context, path string, sealer *seal.Sealer, log *slog.Logger) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // exists (or cannot be examined: checkFile says why)
	}
	dir := filepath.Dir(path)
	tmp := filepath.Join(dir, "."+filepath.Base(path)+".new-"+newID("", 6))
	defer func() {
		for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"} {
			os.Remove(f)
		}
	}()
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	f.Close()
	s, err := open(tmp, sealer, log)
	if err != nil {
		return err
	}
	err = s.init(ctx)
	if err == nil {
		// Everything into the database file itself before it is linked:
		// the WAL stays behind under the temporary name.
		err = s.checkpoint(ctx)
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return fmt.Errorf("create database: %w", err)
	}
	if err := seal.SyncDir(dir); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return nil
}

// checkpoint copies the WAL into the database file and truncates the WAL to
// zero bytes; it fails if a reader kept part of it from being copied.
func (s *Store) checkpoint(ctx context.Context) error {
	// One checkpoint at a time in this process: a second one would make
	// this one fail (SQLite gives up at once on the checkpoint lock).
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	var busy, logPages, done int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("checkpoint: the database is busy")
	}
	return nil
}

// checkFile refuses an existing database file that would be unsafe or
// pointless to open: empty, or readable or writable by other users.
func checkFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("the database %s is not a regular file", path)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("the database %s is empty (0 bytes), so whatever it held is gone: restore it from a backup, "+
			"or, if nothing was ever stored, remove it to start a new database", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		files := []string{path}
		for _, f := range []string{path + "-wal", path + "-shm"} {
			if _, err := os.Stat(f); err == nil {
				files = append(files, f)
			}
		}
		return fmt.Errorf("the database %s can be read or written by other users (mode %v); run: chmod 600 %s",
			path, fi.Mode().Perm(), strings.Join(files, " "))
	}
	return nil
}

// SQLite's primary result codes for a file that is not a usable database.
const (
	sqliteCorrupt = 11 // SQLITE_CORRUPT
	sqliteNotADB  = 26 // SQLITE_NOTADB
)

// errForeign is another program's SQLite database.
var errForeign = errors.New("not written by intakebot")

// describe turns SQLite's report of a damaged or foreign file into one that
// names the file and what to do.
func describe(path string, err error) error {
	if errors.Is(err, errForeign) {
		return fmt.Errorf("the database %s is a SQLite database not written by intakebot (it has no schema_migrations table): "+
			"point --data at intakebot's data directory, or move the file away", path)
	}
	var se interface{ Code() int }
	if errors.As(err, &se) {
		if c := se.Code() & 0xff; c == sqliteCorrupt || c == sqliteNotADB {
			return fmt.Errorf("the database %s is damaged or is not a database (%v): restore it from a backup, "+
				"or move it away to start a new database", path, err)
		}
	}
	return err
}

// checkFormat refuses another program's SQLite database rather than add
// intakebot's tables to it. It reads with no pragmas set: the DSN's
// journal_mode(WAL) would already change the file it is about to refuse.
func checkFormat(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	var tables, ours int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(name = 'schema_migrations'), 0) FROM sqlite_master WHERE type = 'table'`).
		Scan(&tables, &ours)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if tables > 0 && ours == 0 {
		return errForeign
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.stopCkpt != nil {
		s.stopCkpt()
		<-s.ckptDone
		// Lazy commits made since the checkpointer's last sync go to disk
		// now (SQLite syncs only when the last connection to the database
		// closes, and another process may hold one).
		if err := s.syncWAL(); err != nil {
			s.log.Warn("sync at close", slog.Any("err", err))
		}
	}
	for _, st := range s.rs {
		st.Close()
	}
	for _, st := range s.ws {
		st.Close()
	}
	if s.rdb != nil {
		s.rdb.Close()
	}
	return s.db.Close()
}

// migrate applies the migrations not yet applied. It reads what was applied
// first, without the write lock, so many processes opening an up-to-date
// database at once do not queue for the lock (and time out) for nothing.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	pending := names[:0:0]
	for _, name := range names {
		if !applied[name] {
			pending = append(pending, name)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range pending {
		if err := s.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) appliedMigrations(ctx context.Context) (map[string]bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	if n == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[name] = true
	}
	return out, rows.Err()
}

func (s *Store) migrateFile(ctx context.Context, name string) error {
	tx, done, err := s.begin(ctx, synced)
	if err != nil {
		return err
	}
	defer done()
	var n int
	// Read again under the write lock: another process may have applied it.
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	src, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(src)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return s.commit(tx)
}

const keyCheckPlain = "intakebot key check"

// checkKey refuses a key that did not write this database, before anything
// is sealed with it.
func (s *Store) checkKey(ctx context.Context) error {
	var sealed string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		v, err := s.sealer.Seal([]byte(keyCheckPlain), []byte("meta:key_check"))
		if err != nil {
			return err
		}
		// DO NOTHING: another process may have written its check first;
		// read back whichever is there and check that.
		err = s.write(ctx, synced, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('key_check', ?) ON CONFLICT (key) DO NOTHING`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("write key check: %w", err)
		}
		return s.checkKey(ctx)
	} else if err != nil {
		return fmt.Errorf("read key check: %w", err)
	}
	plain, err := s.sealer.Open(sealed, []byte("meta:key_check"))
	if err != nil || string(plain) != keyCheckPlain {
		written, _, _ := strings.Cut(sealed, ":")
		return fmt.Errorf("the data key (id %s) does not open this database, which was written with key id %s: use the key this database was created with", s.sealer.CurrentKeyID(), written)
	}
	return nil
}

func newID(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// Crockford's base32 alphabet: no I, L, O or U, so a case reference read out on
// the phone is not misheard.
const caseAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func newCaseID() string {
	b := make([]byte, 7)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	out := []byte("C-")
	for _, c := range b {
		out = append(out, caseAlphabet[int(c)%len(caseAlphabet)])
	}
	return string(out)
}

func ms(t time.Time) int64            { return t.UnixMilli() }
func fromMS(v int64) time.Time        { return time.UnixMilli(v).UTC() }
func boolInt(b bool) int              { return map[bool]int{false: 0, true: 1}[b] }
func answerAD(sid, qid string) []byte { return []byte("answer:" + sid + ":" + qid) }
func caseAD(id string) []byte         { return []byte("case:" + id) }
func patientAD(id string) []byte      { return []byte("patient:" + id) }

// userKey is what a patient's lookup hash is computed over.
func userKey(channel, userID string) []byte { return []byte(channel + "\x00" + userID) }

// Patient implements intake.Store. The user id is looked up by its keyed
// hash (under any loaded key) and stored only sealed.
func (s *Store) Patient(ctx context.Context, channel, userID string) (intake.Patient, error) {
	p := intake.Patient{Channel: channel, UserID: userID}
	hashes := s.sealer.Hashes(userKey(channel, userID))
	find := func() (bool, error) {
		args := []any{channel}
		for _, h := range hashes {
			args = append(args, h)
		}
		var created int64
		err := s.rs[qPatientFind].QueryRowContext(ctx, args...).Scan(&p.ID, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("find patient: %w", err)
		}
		p.CreatedAt = fromMS(created)
		return true, nil
	}
	if found, err := find(); found || err != nil {
		return p, err
	}
	id, created := newID("p_", 8), s.Now().UTC()
	sealed, err := s.sealer.Seal([]byte(userID), patientAD(id))
	if err != nil {
		return p, err
	}
	// ON CONFLICT: a concurrent first contact from the same user wins the race.
	err = s.write(ctx, lazy, func(tx *sql.Tx) error {
		res, err := s.in(ctx, tx, qPatientInsert).ExecContext(ctx, id, channel, hashes[0], sealed, ms(created))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		p.New = n == 1
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("create patient: %w", err)
	}
	if found, err := find(); err != nil {
		return p, err
	} else if !found {
		return p, fmt.Errorf("find patient: not found after insert")
	}
	return p, nil
}

// ActiveSession implements intake.Store.
func (s *Store) ActiveSession(ctx context.Context, patientID string) (intake.Session, error) {
	// One read transaction: the answers are those of the version read.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return intake.Session{}, err
	}
	defer tx.Rollback()
	var sess intake.Session
	var paused, crisis int
	var created, updated int64
	err = tx.StmtContext(ctx, s.rs[qSessionActive]).QueryRowContext(ctx, patientID).
		Scan(&sess.ID, &sess.PatientID, &sess.ScriptVersion, &sess.Status, &paused, &crisis, &sess.Outcome, &created, &updated, &sess.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, intake.Errorf(intake.ENOTFOUND, "No screening in progress.")
	} else if err != nil {
		return sess, fmt.Errorf("find session: %w", err)
	}
	sess.Paused, sess.PauseReason, sess.CrisisLanguage = paused != 0, pauseReason(paused, crisis == 1), crisis == 1
	sess.CreatedAt, sess.UpdatedAt = fromMS(created), fromMS(updated)
	if a, ok := s.cache.get(sess.ID, sess.Version); ok {
		sess.Answers = a
		return sess, nil
	}
	answers, err := s.answers(ctx, tx, sess.ID)
	if err != nil {
		return sess, err
	}
	s.cache.put(sess.ID, sess.Version, answers)
	sess.Answers = maps.Clone(answers)
	return sess, nil
}

func (s *Store) answers(ctx context.Context, tx *sql.Tx, sessionID string) (map[string]intake.Answer, error) {
	rows, err := tx.StmtContext(ctx, s.rs[qAnswers]).QueryContext(ctx, sessionID)
	if err != nil {
		return nil, fmt.Errorf("read answers: %w", err)
	}
	defer rows.Close()
	out := map[string]intake.Answer{}
	for rows.Next() {
		var qid, sealed string
		if err := rows.Scan(&qid, &sealed); err != nil {
			return nil, err
		}
		plain, err := s.sealer.Open(sealed, answerAD(sessionID, qid))
		if err != nil {
			return nil, fmt.Errorf("open answer %s/%s: %w", sessionID, qid, err)
		}
		var a intake.Answer
		if err := json.Unmarshal(plain, &a); err != nil {
			return nil, fmt.Errorf("decode answer %s/%s: %w", sessionID, qid, err)
		}
		out[qid] = a
	}
	return out, rows.Err()
}

// StartSession implements intake.Store.
func (s *Store) StartSession(ctx context.Context, sess intake.Session) error {
	tx, done, err := s.begin(ctx, lazy)
	if err != nil {
		return err
	}
	defer done()
	now := ms(s.Now())
	if _, err := s.in(ctx, tx, qSessionRestart).ExecContext(ctx, now, sess.PatientID); err != nil {
		return fmt.Errorf("end old session: %w", err)
	}
	if _, err := s.in(ctx, tx, qSessionInsert).ExecContext(ctx, sess.ID, sess.PatientID, sess.ScriptVersion, now, now); err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	return s.commit(tx)
}

// SaveAnswer implements intake.Store.
func (s *Store) SaveAnswer(ctx context.Context, sessionID string, version int64, a intake.Answer) error {
	plain, err := json.Marshal(a)
	if err != nil {
		return err
	}
	sealed, err := s.sealer.Seal(plain, answerAD(sessionID, a.QuestionID))
	if err != nil {
		return err
	}
	tx, done, err := s.begin(ctx, lazy)
	if err != nil {
		return err
	}
	defer done()
	now := ms(s.Now())
	// The compare-and-set: the answer was checked against the pending
	// question of this version of the session.
	res, err := s.in(ctx, tx, qSessionTouch).ExecContext(ctx, now, sessionID, version)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.sessionConflict(ctx, tx, sessionID)
	}
	if _, err := s.in(ctx, tx, qAnswerUpsert).ExecContext(ctx, sessionID, a.QuestionID, sealed, ms(a.At)); err != nil {
		return fmt.Errorf("save answer: %w", err)
	}
	if err := s.commit(tx); err != nil {
		s.cache.drop(sessionID)
		return err
	}
	// What the next turn reads: the cached answers plus this one. The
	// stored answer round-trips through JSON, as a read would return it.
	var stored intake.Answer
	if err := json.Unmarshal(plain, &stored); err != nil {
		s.cache.drop(sessionID)
		return nil
	}
	s.cache.advance(sessionID, version, version+1, &stored)
	return nil
}

// sessionConflict says why a compare-and-set on a session changed nothing:
// it ended, or another turn changed it first. Both are ECONFLICT.
func (s *Store) sessionConflict(ctx context.Context, tx *sql.Tx, sessionID string) error {
	var status string
	err := s.in(ctx, tx, qSessionStatus).QueryRowContext(ctx, sessionID).Scan(&status)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read session: %w", err)
	}
	if status != string(intake.SessionActive) {
		return intake.Errorf(intake.ECONFLICT, "That screening has already ended.")
	}
	return intake.Errorf(intake.ECONFLICT, "That answer was for a question that is no longer waiting.")
}

// The sessions.paused column: 0 not paused, 1 paused for crisis language, 2
// stopped by the patient. Rows written before the reason was kept hold 1 for
// both; those without crisis language were stopped by the patient.
const (
	pausedNone    = 0
	pausedCrisis  = 1
	pausedStopped = 2
)

func pauseReason(paused int, crisis bool) intake.PauseReason {
	switch {
	case paused == pausedNone:
		return intake.PauseNone
	case paused == pausedCrisis && crisis:
		return intake.PauseCrisis
	}
	return intake.PauseStopped
}

// SetPaused implements intake.Store.
func (s *Store) SetPaused(ctx context.Context, sessionID string, reason intake.PauseReason) error {
	code := pausedNone
	switch reason {
	case intake.PauseNone:
	case intake.PauseCrisis:
		code = pausedCrisis
	case intake.PauseStopped:
		code = pausedStopped
	default:
		return fmt.Errorf("pause session: unknown reason %q", reason)
	}
	// A pause for crisis language is synced: the screening must stay
	// paused after a restart, as the case it goes with does.
	d := lazy
	if reason == intake.PauseCrisis {
		d = synced
	}
	var version int64
	err := s.write(ctx, d, func(tx *sql.Tx) error {
		return s.in(ctx, tx, qSessionPause).QueryRowContext(ctx, code, boolInt(reason == intake.PauseCrisis), ms(s.Now()), sessionID).Scan(&version)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return intake.Errorf(intake.ENOTFOUND, "No screening in progress.")
	} else if err != nil {
		s.cache.drop(sessionID)
		return fmt.Errorf("pause session: %w", err)
	}
	s.cache.advance(sessionID, version-1, version, nil)
	return nil
}

// EndSession implements intake.Store.
func (s *Store) EndSession(ctx context.Context, sessionID string, version int64, status intake.SessionStatus, outcome string, discard bool,
	c *intake.Case) (*intake.Case, error) {
	// Synced when it opens a case or discards the answers (the patient's
	// choice to have them deleted must not come undone).
	d := lazy
	if c != nil || discard {
		d = synced
	}
	tx, done, err := s.begin(ctx, d)
	if err != nil {
		return nil, err
	}
	defer done()
	s.cache.drop(sessionID)
	res, err := s.in(ctx, tx, qSessionEnd).ExecContext(ctx, status, outcome, ms(s.Now()), sessionID, version)
	if err != nil {
		return nil, fmt.Errorf("end session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, s.sessionConflict(ctx, tx, sessionID)
	}
	if discard {
		if _, err := s.in(ctx, tx, qAnswersDiscard).ExecContext(ctx, sessionID); err != nil {
			return nil, fmt.Errorf("discard answers: %w", err)
		}
	}
	var out *intake.Case
	if c != nil {
		c.SessionID = sessionID
		stored, err := s.openCase(ctx, tx, *c)
		if err != nil {
			return nil, err
		}
		out = &stored
	}
	return out, s.commit(tx)
}

// OpenCase implements intake.Store.
func (s *Store) OpenCase(ctx context.Context, c intake.Case) (intake.Case, error) {
	tx, done, err := s.begin(ctx, synced)
	if err != nil {
		return c, err
	}
	defer done()
	stored, err := s.openCase(ctx, tx, c)
	if err != nil {
		return c, err
	}
	return stored, s.commit(tx)
}

type caseDetails struct {
	Flags   []string                `json:"flags,omitempty"`
	Scores  map[string]intake.Score `json:"scores,omitempty"`
	Contact intake.Contact          `json:"contact"`
	Notes   string                  `json:"notes,omitempty"`
	Answers []intake.CaseAnswer     `json:"answers,omitempty"`
	Said    []intake.Said           `json:"said,omitempty"`
	// CloseNote is staff's note when closing: it may name health details.
	CloseNote string `json:"close_note,omitempty"`
}

// openCase creates a case or merges c into the patient's open case, and
// queues the outbox event, inside tx.
func (s *Store) openCase(ctx context.Context, tx *sql.Tx, c intake.Case) (intake.Case, error) {
	now := s.Now().UTC()
	existing, err := s.scanCase(s.in(ctx, tx, qCaseOpenOf).QueryRowContext(ctx, c.PatientID))
	kind := intake.EventCaseOpened
	switch {
	case intake.ErrorCode(err) == intake.ENOTFOUND:
		c.ID, c.Status, c.CreatedAt, c.UpdatedAt = newCaseID(), intake.CaseOpen, now, now
		c.AlertFrom, c.AlertsSent = now, 0
		if err := s.writeCase(ctx, tx, c, true); err != nil {
			return c, err
		}
	case err != nil:
		return c, err
	default:
		kind = intake.EventCaseUpdated
		raised := c.Priority.Rank() > existing.Priority.Rank()
		c = merge(existing, c)
		c.UpdatedAt = now
		if raised {
			// A more urgent case starts its own paging schedule.
			c.AlertFrom, c.AlertsSent = now, 0
		}
		if err := s.writeCase(ctx, tx, c, false); err != nil {
			return c, err
		}
	}
	if err := s.queueEvent(ctx, tx, c.ID, kind, "", now); err != nil {
		return c, err
	}
	return c, nil
}

// merge folds a new handoff into an open case: the higher priority (and its
// outcome) wins, flags are joined, newer scores, contact and notes replace
// older ones.
func merge(old, c intake.Case) intake.Case {
	out := old
	if c.Priority.Rank() > old.Priority.Rank() {
		out.Priority, out.Outcome = c.Priority, c.Outcome
	}
	seen := map[string]bool{}
	out.Flags = nil
	for _, f := range append(append([]string{}, old.Flags...), c.Flags...) {
		if !seen[f] {
			seen[f] = true
			out.Flags = append(out.Flags, f)
		}
	}
	if len(c.Scores) > 0 {
		out.Scores = c.Scores
	}
	if c.Contact != (intake.Contact{}) {
		out.Contact = c.Contact
	}
	if c.Notes != "" {
		out.Notes = c.Notes
	}
	if len(c.Answers) > 0 {
		out.Answers = c.Answers
	}
	out.Said = append(append([]intake.Said(nil), old.Said...), c.Said...)
	if len(out.Said) > intake.MaxSaid {
		out.Said = out.Said[len(out.Said)-intake.MaxSaid:]
	}
	if c.SessionID != "" {
		out.SessionID, out.ScriptVersion = c.SessionID, c.ScriptVersion
	}
	return out
}

func (s *Store) writeCase(ctx context.Context, tx *sql.Tx, c intake.Case, insert bool) error {
	plain, err := json.Marshal(caseDetails{Flags: c.Flags, Scores: c.Scores, Contact: c.Contact, Notes: c.Notes, Answers: c.Answers, Said: c.Said, CloseNote: c.CloseNote})
	if err != nil {
		return err
	}
	details, err := s.sealer.Seal(plain, caseAD(c.ID))
	if err != nil {
		return err
	}
	if insert {
		_, err = s.in(ctx, tx, qCaseInsert).ExecContext(ctx,
			c.ID, c.PatientID, c.SessionID, c.Outcome, c.Priority, c.Priority.Rank(), c.Status, details, c.ScriptVersion, ms(c.CreatedAt), ms(c.UpdatedAt), ms(c.AlertFrom), c.AlertsSent)
	} else {
		_, err = s.in(ctx, tx, qCaseUpdate).ExecContext(ctx,
			c.SessionID, c.Outcome, c.Priority, c.Priority.Rank(), c.Status, details, c.ScriptVersion, ms(c.UpdatedAt), ms(c.AlertFrom), c.AlertsSent, c.ID)
		if err == nil {
			// Pending events follow their case's priority.
			_, err = s.in(ctx, tx, qOutboxRerank).ExecContext(ctx, c.Priority.Rank(), c.ID, c.Priority.Rank())
		}
	}
	if err != nil {
		return fmt.Errorf("write case: %w", err)
	}
	return nil
}

const caseSelect = `SELECT id, patient_id, session_id, outcome, priority, status, assignee, assignee_id, details, script_version, created_at, updated_at,
	close_reason, last_action, last_action_at, card_message_id, alert_from, alerts_sent FROM cases`

type scanner interface{ Scan(dest ...any) error }

func (s *Store) scanCase(row scanner) (intake.Case, error) {
	var c intake.Case
	var details string
	var created, updated, lastAt, alertFrom int64
	err := row.Scan(&c.ID, &c.PatientID, &c.SessionID, &c.Outcome, &c.Priority, &c.Status, &c.Assignee, &c.AssigneeID, &details, &c.ScriptVersion, &created, &updated,
		&c.CloseReason, &c.LastAction, &lastAt, &c.CardMessageID, &alertFrom, &c.AlertsSent)
	if errors.Is(err, sql.ErrNoRows) {
		return c, intake.Errorf(intake.ENOTFOUND, "No such case.")
	} else if err != nil {
		return c, fmt.Errorf("read case: %w", err)
	}
	c.CreatedAt, c.UpdatedAt, c.AlertFrom = fromMS(created), fromMS(updated), fromMS(alertFrom)
	if lastAt != 0 {
		c.LastActionAt = fromMS(lastAt)
	}
	plain, err := s.sealer.Open(details, caseAD(c.ID))
	if err != nil {
		return c, fmt.Errorf("open case %s: %w", c.ID, err)
	}
	var d caseDetails
	if err := json.Unmarshal(plain, &d); err != nil {
		return c, fmt.Errorf("decode case %s: %w", c.ID, err)
	}
	c.Flags, c.Scores, c.Contact, c.Notes, c.CloseNote = d.Flags, d.Scores, d.Contact, d.Notes, d.CloseNote
	c.Answers, c.Said = d.Answers, d.Said
	return c, nil
}

// Case implements intake.Store.
func (s *Store) Case(ctx context.Context, id string) (intake.Case, error) {
	return s.scanCase(s.rs[qCaseByID].QueryRowContext(ctx, strings.ToUpper(strings.TrimSpace(id))))
}

// Cases implements intake.Store.
func (s *Store) Cases(ctx context.Context, f intake.CaseFilter) ([]intake.Case, error) {
	// The lookups on hot paths (a patient's cases, the case of a card)
	// are prepared; other filters (staff listing cases) are built here.
	switch {
	case f.PatientID != "" && f.Status == "" && f.CardMessageID == "" && f.Limit == 0:
		return s.caseRows(s.rs[qCasesOfPatient].QueryContext(ctx, f.PatientID))
	case f.CardMessageID != "" && f.Status == "" && f.PatientID == "" && f.Limit == 0:
		return s.caseRows(s.rs[qCaseByCard].QueryContext(ctx, f.CardMessageID))
	}
	q, args := caseSelect+` WHERE 1=1`, []any{}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.PatientID != "" {
		q += ` AND patient_id = ?`
		args = append(args, f.PatientID)
	}
	if f.CardMessageID != "" {
		q += ` AND card_message_id = ? AND card_message_id <> ''`
		args = append(args, f.CardMessageID)
	}
	q += ` ORDER BY priority_rank DESC, created_at DESC, id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	return s.caseRows(s.rdb.QueryContext(ctx, q, args...))
}

func (s *Store) caseRows(rows *sql.Rows, err error) ([]intake.Case, error) {
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []intake.Case
	for rows.Next() {
		c, err := s.scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PendingEvents implements intake.Store.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]intake.OutboxEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, case_id, kind, created_at FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var out []intake.OutboxEvent
	for rows.Next() {
		var e intake.OutboxEvent
		var created int64
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Kind, &created); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMS(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Audit implements intake.Store.
func (s *Store) Audit(ctx context.Context, e intake.AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.Now()
	}
	// Synced: who viewed or did what is kept whatever happens next.
	err := s.write(ctx, synced, func(tx *sql.Tx) error {
		_, err := s.in(ctx, tx, qAudit).ExecContext(ctx, e.Actor, e.Action, e.CaseID, e.Result, ms(e.At))
		return err
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog implements intake.Store.
func (s *Store) AuditLog(ctx context.Context, caseID string) ([]intake.AuditEntry, error) {
	q, args := `SELECT id, actor, action, case_id, result, at FROM audit`, []any{}
	if caseID != "" {
		q += ` WHERE case_id = ?`
		args = append(args, caseID)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	defer rows.Close()
	var out []intake.AuditEntry
	for rows.Next() {
		var e intake.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.Actor, &e.Action, &e.CaseID, &e.Result, &at); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// FirstSeen implements intake.Store.
func (s *Store) FirstSeen(ctx context.Context, eventID string) (bool, error) {
	var n int64
	err := s.write(ctx, lazy, func(tx *sql.Tx) error {
		res, err := s.in(ctx, tx, qFirstSeen).ExecContext(ctx, eventID, ms(s.Now()))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record event: %w", err)
	}
	return n == 1, nil
}

// PatientSummary implements intake.Store.
func (s *Store) PatientSummary(ctx context.Context, patientID string) (intake.Summary, error) {
	var sum intake.Summary
	var pending int
	err := s.rs[qSummarySessions].QueryRowContext(ctx, patientID).Scan(&sum.Sessions, &pending)
	if err != nil {
		return sum, fmt.Errorf("summary: %w", err)
	}
	sum.Pending = pending > 0
	if err := s.rs[qSummaryAnswers].QueryRowContext(ctx, patientID).Scan(&sum.Answers); err != nil {
		return sum, fmt.Errorf("summary: %w", err)
	}
	rows, err := s.rs[qSummaryCases].QueryContext(ctx, patientID)
	if err != nil {
		return sum, fmt.Errorf("summary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			return sum, err
		}
		sum.Cases = append(sum.Cases, id)
		if status != string(intake.CaseClosed) {
			sum.OpenCase = id
		}
	}
	return sum, rows.Err()
}

// ForgetPatient implements intake.Store.
func (s *Store) ForgetPatient(ctx context.Context, patientID, actor string) ([]string, error) {
	ids, err := s.forget(ctx, patientID, actor)
	if err != nil {
		return nil, err
	}
	s.cache.clear()
	// secure_delete zeroed the erased values in the pages this transaction
	// wrote, but the WAL still holds the earlier versions of those pages
	// until they are checkpointed and the WAL truncated.
	if err := s.checkpoint(ctx); err != nil {
		return ids, fmt.Errorf("erased, but the write-ahead log still holds old copies (try again): %w", err)
	}
	return ids, nil
}

// forget erases a patient in one synced transaction (the write connection
// is released when it returns, for the checkpoint after it).
func (s *Store) forget(ctx context.Context, patientID, actor string) ([]string, error) {
	tx, done, err := s.begin(ctx, synced)
	if err != nil {
		return nil, err
	}
	defer done()
	now := s.Now().UTC()
	if _, err := tx.ExecContext(ctx, `DELETE FROM answers WHERE session_id IN (SELECT id FROM sessions WHERE patient_id = ?)`, patientID); err != nil {
		return nil, fmt.Errorf("forget answers: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET session_id = '' WHERE patient_id = ?`, patientID); err != nil {
		return nil, fmt.Errorf("forget sessions: %w", err)
	}
	// What the patient wrote to staff goes with their answers.
	if _, err := tx.ExecContext(ctx, `DELETE FROM case_entries WHERE kind = 'relay' AND case_id IN (SELECT id FROM cases WHERE patient_id = ?)`, patientID); err != nil {
		return nil, fmt.Errorf("forget relayed messages: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE patient_id = ?`, patientID); err != nil {
		return nil, fmt.Errorf("forget sessions: %w", err)
	}
	rows, err := tx.QueryContext(ctx, caseSelect+` WHERE patient_id = ?`, patientID)
	if err != nil {
		return nil, fmt.Errorf("forget cases: %w", err)
	}
	var cases []intake.Case
	for rows.Next() {
		c, err := s.scanCase(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		cases = append(cases, c)
	}
	rows.Close()
	var ids []string
	for _, c := range cases {
		c.Flags, c.Scores, c.Contact, c.Notes, c.CloseNote = []string{intake.FlagPatientWithdrew}, nil, intake.Contact{}, "", ""
		c.Answers, c.Said = nil, nil
		c.UpdatedAt = now
		if err := s.writeCase(ctx, tx, c, false); err != nil {
			return nil, err
		}
		if c.Status != intake.CaseClosed {
			if err := s.queueEvent(ctx, tx, c.ID, intake.EventCaseUpdated, "", now); err != nil {
				return nil, err
			}
		}
		ids = append(ids, c.ID)
	}
	// The row stays for the cases that name it, but no longer leads back to
	// the user: a returning user is a new patient.
	if _, err := tx.ExecContext(ctx, `UPDATE patients SET user_id = ?, user_sealed = '', hashed = 1 WHERE id = ?`,
		newID("erased:", 16), patientID); err != nil {
		return nil, fmt.Errorf("forget patient: %w", err)
	}
	// One row per case stripped, so `audit --case` shows what ended its
	// details; one without a case when there was none.
	for _, id := range ids {
		if err := s.audit(ctx, tx, intake.AuditEntry{Actor: actor, Action: "patient.forget", CaseID: id, Result: "erased; case stripped"}, now); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		if err := s.audit(ctx, tx, intake.AuditEntry{Actor: actor, Action: "patient.forget", Result: "erased; no cases"}, now); err != nil {
			return nil, err
		}
	}
	if err := s.commit(tx); err != nil {
		return nil, err
	}
	return ids, nil
}

// DueEvents implements intake.Store.
func (s *Store) DueEvents(ctx context.Context, now time.Time, limit int) ([]intake.OutboxEvent, error) {
	// An event waits while an earlier event of its case is undelivered, so a
	// case's changes reach staff in order.
	// The most urgent cases go first, so a burst of routine cards never
	// delays an urgent one.
	rows, err := s.rs[qDueEvents].QueryContext(ctx, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due events: %w", err)
	}
	defer rows.Close()
	var out []intake.OutboxEvent
	for rows.Next() {
		var e intake.OutboxEvent
		var created int64
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Kind, &created, &e.Attempts, &e.Data); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMS(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventFailed implements intake.Store.
func (s *Store) EventFailed(ctx context.Context, eventID int64, next time.Time) error {
	s.bg.Lock()
	defer s.bg.Unlock()
	err := s.write(ctx, lazy, func(tx *sql.Tx) error {
		_, err := s.in(ctx, tx, qEventFailed).ExecContext(ctx, ms(next), eventID)
		return err
	})
	if err != nil {
		return fmt.Errorf("event failed: %w", err)
	}
	return nil
}

// EventDelivered implements intake.Store.
func (s *Store) EventDelivered(ctx context.Context, eventID int64, caseID, cardMessageID string) error {
	s.bg.Lock()
	defer s.bg.Unlock()
	return s.write(ctx, lazy, func(tx *sql.Tx) error {
		return s.delivered(ctx, tx, eventID, caseID, cardMessageID)
	})
}

// delivered marks an event delivered, makes the next pending event of its
// case the case's head, and records the card's message id.
func (s *Store) delivered(ctx context.Context, tx *sql.Tx, eventID int64, caseID, cardMessageID string) error {
	var eventCase string
	err := s.in(ctx, tx, qEventDelivered).QueryRowContext(ctx, ms(s.Now()), eventID).Scan(&eventCase)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Delivered already (by another process): nothing moves on.
	case err != nil:
		return fmt.Errorf("event delivered: %w", err)
	default:
		if _, err := s.in(ctx, tx, qEventPromote).ExecContext(ctx, eventCase); err != nil {
			return fmt.Errorf("event delivered: %w", err)
		}
	}
	if cardMessageID != "" {
		if _, err := s.in(ctx, tx, qCardSet).ExecContext(ctx, cardMessageID, caseID); err != nil {
			return fmt.Errorf("card message: %w", err)
		}
	}
	return nil
}

// CardMessage implements intake.Store.
func (s *Store) CardMessage(ctx context.Context, caseID string) (string, error) {
	var id string
	err := s.rs[qCardMessage].QueryRowContext(ctx, caseID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", intake.Errorf(intake.ENOTFOUND, "No such case.")
	}
	return id, err
}

// ClaimCase implements intake.Store.
func (s *Store) ClaimCase(ctx context.Context, caseID, actorID, actorName string, claim bool) (intake.Case, error) {
	return s.caseTx(ctx, synced, caseID, func(tx *sql.Tx, c *intake.Case, now time.Time) error {
		return s.claim(ctx, tx, c, actorID, actorName, claim, now)
	})
}

func (s *Store) claim(ctx context.Context, tx *sql.Tx, c *intake.Case, actorID, actorName string, claim bool, now time.Time) error {
	action, result := "case.claim", "ok"
	switch {
	case c.Status == intake.CaseClosed:
		return intake.Errorf(intake.ECONFLICT, "Case %s is closed.", c.ID)
	case claim && c.Status == intake.CaseClaimed && c.AssigneeID != actorID:
		return intake.Errorf(intake.ECONFLICT, "%s has already claimed case %s.", c.Assignee, c.ID)
	case claim:
		c.Status, c.Assignee, c.AssigneeID = intake.CaseClaimed, actorName, actorID
	default:
		action = "case.unclaim"
		c.Status, c.Assignee, c.AssigneeID = intake.CaseOpen, "", ""
	}
	if claim {
		c.LastAction = "Claimed by " + actorName
	} else {
		c.LastAction = "Unclaimed by " + actorName
		// Back in the queue: its paging or reminder schedule starts again.
		c.AlertFrom, c.AlertsSent = now, 0
	}
	c.LastActionAt = now
	if _, err := s.in(ctx, tx, qClaim).ExecContext(ctx,
		c.Status, c.Assignee, c.AssigneeID, ms(now), c.LastAction, ms(now), ms(c.AlertFrom), c.AlertsSent, c.ID); err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	if err := s.audit(ctx, tx, intake.AuditEntry{Actor: actorID, Action: action, CaseID: c.ID, Result: result}, now); err != nil {
		return err
	}
	if err := s.queueEvent(ctx, tx, c.ID, intake.EventCaseUpdated, "", now); err != nil {
		return err
	}
	if claim {
		// The patient hears once that someone has their case.
		res, err := s.in(ctx, tx, qClaimTold).ExecContext(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("claim notice: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if err := s.queueEvent(ctx, tx, c.ID, intake.EventPatientNotice, "notice_claimed", now); err != nil {
				return err
			}
		}
	}
	c.UpdatedAt = now
	return nil
}

// audit appends an audit row inside a transaction.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, e intake.AuditEntry, now time.Time) error {
	if _, err := s.in(ctx, tx, qAudit).ExecContext(ctx, e.Actor, e.Action, e.CaseID, e.Result, ms(now)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func (s *Store) queueEvent(ctx context.Context, tx *sql.Tx, caseID, kind, data string, now time.Time) error {
	if _, err := s.in(ctx, tx, qEventQueue).ExecContext(ctx, caseID, kind, ms(now), data); err != nil {
		return fmt.Errorf("queue case event: %w", err)
	}
	return nil
}

// PatientByID implements intake.Store. An erased patient has no UserID.
func (s *Store) PatientByID(ctx context.Context, id string) (intake.Patient, error) {
	p := intake.Patient{ID: id}
	var created int64
	var sealed string
	err := s.rs[qPatientByID].QueryRowContext(ctx, id).Scan(&p.Channel, &sealed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return p, intake.Errorf(intake.ENOTFOUND, "No such patient.")
	} else if err != nil {
		return p, fmt.Errorf("patient: %w", err)
	}
	p.CreatedAt = fromMS(created)
	if sealed != "" {
		plain, err := s.sealer.Open(sealed, patientAD(id))
		if err != nil {
			return p, fmt.Errorf("open patient %s: %w", id, err)
		}
		p.UserID = string(plain)
	}
	return p, nil
}

// CaseAction implements intake.Store.
func (s *Store) CaseAction(ctx context.Context, a intake.CaseActionEntry) (intake.Case, error) {
	// A staff action is synced; a patient's message relayed to staff is
	// an ordinary turn (lazy), like an answer.
	d := synced
	if a.Action == actionRelay {
		d = lazy
	}
	return s.caseTx(ctx, d, a.CaseID, func(tx *sql.Tx, c *intake.Case, now time.Time) error {
		if err := s.audit(ctx, tx, intake.AuditEntry{Actor: a.Actor, Action: a.Action, CaseID: c.ID, Result: a.Result}, now); err != nil {
			return err
		}
		if a.LastAction == "" {
			return nil
		}
		c.LastAction, c.LastActionAt = a.LastAction, now
		if _, err := s.in(ctx, tx, qCaseAction).ExecContext(ctx, a.LastAction, ms(now), c.ID); err != nil {
			return fmt.Errorf("case action: %w", err)
		}
		return s.queueEvent(ctx, tx, c.ID, intake.EventCaseUpdated, "", now)
	})
}

// caseTx runs change on a case read inside one transaction, committing when
// it succeeds; it returns the case as change left it.
func (s *Store) caseTx(ctx context.Context, d durability, caseID string,
	change func(tx *sql.Tx, c *intake.Case, now time.Time) error) (intake.Case, error) {
	tx, done, err := s.begin(ctx, d)
	if err != nil {
		return intake.Case{}, err
	}
	defer done()
	c, err := s.scanCase(s.in(ctx, tx, qCaseByIDTx).QueryRowContext(ctx, caseID))
	if err != nil {
		return c, err
	}
	if err := change(tx, &c, s.Now().UTC()); err != nil {
		return c, err
	}
	return c, s.commit(tx)
}

// CloseCase implements intake.Store.
func (s *Store) CloseCase(ctx context.Context, caseID, actorID, actorName, reason, note string) (intake.Case, error) {
	r, ok := intake.CloseReasonByID(reason)
	if !ok {
		return intake.Case{}, intake.Errorf(intake.EINVALID, "Unknown close reason %q.", reason)
	}
	return s.caseTx(ctx, synced, caseID, func(tx *sql.Tx, c *intake.Case, now time.Time) error {
		if c.Status == intake.CaseClosed {
			return intake.Errorf(intake.ECONFLICT, "Case %s is already closed.", c.ID)
		}
		c.Status, c.CloseReason, c.CloseNote, c.UpdatedAt = intake.CaseClosed, r.ID, note, now
		c.LastAction, c.LastActionAt = "Closed by "+actorName+": "+r.Label, now
		if err := s.writeCase(ctx, tx, *c, false); err != nil {
			return err
		}
		if _, err := s.in(ctx, tx, qCaseClose).ExecContext(ctx, c.CloseReason, c.LastAction, ms(now), c.ID); err != nil {
			return fmt.Errorf("close: %w", err)
		}
		if err := s.audit(ctx, tx, intake.AuditEntry{Actor: actorID, Action: "case.close", CaseID: c.ID, Result: "ok: " + r.ID}, now); err != nil {
			return err
		}
		if err := s.queueEvent(ctx, tx, c.ID, intake.EventCaseUpdated, "", now); err != nil {
			return err
		}
		if r.Notice != "" {
			if err := s.queueEvent(ctx, tx, c.ID, intake.EventPatientNotice, r.Notice, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// QueueAlert implements intake.Store.
func (s *Store) QueueAlert(ctx context.Context, caseID string, n int, kind, data string) (bool, error) {
	s.bg.Lock()
	defer s.bg.Unlock()
	// Lazy: a page undone by a power cut is queued again by the
	// dispatcher's next check (its count went back with it).
	tx, done, err := s.begin(ctx, lazy)
	if err != nil {
		return false, err
	}
	defer done()
	now := s.Now().UTC()
	res, err := s.in(ctx, tx, qAlertQueue).ExecContext(ctx, n, caseID, n-1)
	if err != nil {
		return false, fmt.Errorf("queue alert: %w", err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return false, nil
	}
	if err := s.queueEvent(ctx, tx, caseID, kind, data, now); err != nil {
		return false, err
	}
	action := "case.page"
	if kind == intake.EventReminder {
		action = "case.remind"
	}
	if err := s.audit(ctx, tx, intake.AuditEntry{Actor: "intakebot", Action: action, CaseID: caseID, Result: fmt.Sprintf("queued %d", n)}, now); err != nil {
		return false, err
	}
	return true, s.commit(tx)
}

// IdleSessions implements intake.Store.
func (s *Store) IdleSessions(ctx context.Context, before time.Time) ([]intake.Session, error) {
	rows, err := s.rs[qIdleSessions].QueryContext(ctx, ms(before))
	if err != nil {
		return nil, fmt.Errorf("idle sessions: %w", err)
	}
	defer rows.Close()
	var out []intake.Session
	for rows.Next() {
		var sess intake.Session
		var updated int64
		if err := rows.Scan(&sess.ID, &sess.PatientID, &updated); err != nil {
			return nil, err
		}
		sess.UpdatedAt, sess.Status = fromMS(updated), intake.SessionActive
		out = append(out, sess)
	}
	return out, rows.Err()
}

// MarkSwept implements intake.Store.
func (s *Store) MarkSwept(ctx context.Context, sessionID string, updatedAt time.Time) error {
	err := s.write(ctx, lazy, func(tx *sql.Tx) error {
		_, err := s.in(ctx, tx, qMarkSwept).ExecContext(ctx, sessionID, ms(updatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("mark swept: %w", err)
	}
	return nil
}
