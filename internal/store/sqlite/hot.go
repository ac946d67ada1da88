package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// The statements on the bot's hot paths: a patient's turn, a relayed
// message, the dispatcher's alert check and outbox. Each is prepared once,
// when the store opens (SQLite's parsing and planning was about a sixth of
// an answer turn), and TestHotStatementsUseIndexes runs EXPLAIN QUERY PLAN
// on every one of them: none may scan a table that grows with the clinic.
//
// Reads (readSQL) run on the read pool, writes (writeSQL) on the one write
// connection, inside a transaction through tx.StmtContext.
var readSQL = map[string]string{
	qSessionActive: `SELECT id, patient_id, script_version, status, paused, crisis, outcome, created_at, updated_at, version
		FROM sessions WHERE patient_id = ? AND status = 'active'`,
	qAnswers:        `SELECT question_id, sealed FROM answers WHERE session_id = ?`,
	qCaseByID:       caseSelect + ` WHERE id = ?`,
	qCasesOfPatient: caseSelect + ` WHERE patient_id = ? ORDER BY priority_rank DESC, created_at DESC, id`,
	// The term card_message_id <> '' lets SQLite use the partial index
	// cases_card (it cannot tell that a parameter is not '').
	qCaseByCard:  caseSelect + ` WHERE card_message_id = ? AND card_message_id <> '' ORDER BY priority_rank DESC, created_at DESC, id`,
	qCardMessage: `SELECT card_message_id FROM cases WHERE id = ?`,
	qPatientByID: `SELECT channel, user_sealed, created_at FROM patients WHERE id = ?`,
	// The head of each case's queue, most urgent case first; a case's
	// later events wait until its head is delivered (EventDelivered moves
	// the head on). INDEXED BY: left to itself, SQLite reads every pending
	// event through outbox_pending and sorts them.
	qDueEvents: `SELECT id, case_id, kind, created_at, attempts, data FROM outbox INDEXED BY outbox_next
		WHERE delivered_at IS NULL AND head = 1 AND next_attempt_at <= ?
		ORDER BY case_rank DESC, id LIMIT ?`,
	// Open cases whose pages or reminders must be looked at now, without
	// their sealed details (INDEXED BY: not every open case through
	// cases_list).
	qDueAlerts: `SELECT id, priority, alert_from, alerts_sent, alert_check_at FROM cases INDEXED BY cases_alert_due
		WHERE status = 'open' AND alert_check_at <= ? ORDER BY alert_check_at, priority_rank DESC LIMIT ?`,
	qIdleSessions: `SELECT id, patient_id, updated_at FROM sessions INDEXED BY sessions_unswept
		WHERE status = 'active' AND paused = 0 AND swept_at <> updated_at AND updated_at < ? ORDER BY updated_at LIMIT 500`,
	qSummarySessions: `SELECT COUNT(*), COALESCE(SUM(status = 'active'), 0) FROM sessions WHERE patient_id = ?`,
	qSummaryAnswers:  `SELECT COUNT(*) FROM answers a JOIN sessions s ON s.id = a.session_id WHERE s.patient_id = ?`,
	qSummaryCases:    `SELECT id, status FROM cases WHERE patient_id = ? ORDER BY created_at`,
}

var writeSQL = map[string]string{
	qPatientInsert: `INSERT INTO patients (id, channel, user_id, user_sealed, hashed, created_at) VALUES (?, ?, ?, ?, 1, ?)
		ON CONFLICT (channel, user_id) DO NOTHING`,
	qSessionRestart: `UPDATE sessions SET status = 'restarted', updated_at = ? WHERE patient_id = ? AND status = 'active'`,
	qSessionInsert: `INSERT INTO sessions (id, patient_id, script_version, status, created_at, updated_at)
		VALUES (?, ?, ?, 'active', ?, ?)`,
	qSessionTouch: `UPDATE sessions SET updated_at = ?, paused = 0, version = version + 1
		WHERE id = ? AND status = 'active' AND version = ?`,
	qAnswerUpsert: `INSERT INTO answers (session_id, question_id, sealed, answered_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (session_id, question_id) DO UPDATE SET sealed = excluded.sealed, answered_at = excluded.answered_at`,
	qSessionStatus: `SELECT status FROM sessions WHERE id = ?`,
	qSessionPause: `UPDATE sessions SET paused = ?, crisis = MAX(crisis, ?), updated_at = ?, version = version + 1
		WHERE id = ? AND status = 'active' RETURNING version`,
	qSessionEnd: `UPDATE sessions SET status = ?, outcome = ?, paused = 0, updated_at = ?, version = version + 1
		WHERE id = ? AND status = 'active' AND version = ?`,
	qAnswersDiscard: `DELETE FROM answers WHERE session_id = ?`,
	qCaseByIDTx:     caseSelect + ` WHERE id = ?`,
	qCaseOpenOf:     caseSelect + ` WHERE patient_id = ? AND status <> 'closed'`,
	qCaseInsert: `INSERT INTO cases (id, patient_id, session_id, outcome, priority, priority_rank, status, details, script_version,
		created_at, updated_at, alert_from, alerts_sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	// Any change to a case may change its alert schedule: the dispatcher
	// works it out again (alert_check_at = 0).
	qCaseUpdate: `UPDATE cases SET session_id = ?, outcome = ?, priority = ?, priority_rank = ?, status = ?, details = ?,
		script_version = ?, updated_at = ?, alert_from = ?, alerts_sent = ?, alert_check_at = 0 WHERE id = ?`,
	qOutboxRerank: `UPDATE outbox SET case_rank = ? WHERE case_id = ? AND delivered_at IS NULL AND case_rank <> ?`,
	// A new event is its case's head when none of the case's events is
	// pending.
	qEventQueue: `INSERT INTO outbox (case_id, kind, created_at, next_attempt_at, data, case_rank, head)
		VALUES (?1, ?2, ?3, ?3, ?4, (SELECT priority_rank FROM cases WHERE id = ?1),
		NOT EXISTS (SELECT 1 FROM outbox WHERE case_id = ?1 AND delivered_at IS NULL))`,
	qEventDelivered: `UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, head = 0 WHERE id = ? AND delivered_at IS NULL
		RETURNING case_id`,
	qEventPromote: `UPDATE outbox SET head = 1 WHERE id = (SELECT MIN(id) FROM outbox WHERE case_id = ? AND delivered_at IS NULL)`,
	qEventFailed:  `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?`,
	qCardSet:      `UPDATE cases SET card_message_id = ? WHERE id = ?`,
	qAudit:        `INSERT INTO audit (actor, action, case_id, result, at) VALUES (?, ?, ?, ?, ?)`,
	qClaim: `UPDATE cases SET status = ?, assignee = ?, assignee_id = ?, updated_at = ?, last_action = ?, last_action_at = ?,
		alert_from = ?, alerts_sent = ?, alert_check_at = 0 WHERE id = ?`,
	qClaimTold:    `UPDATE cases SET claim_told = 1 WHERE id = ? AND claim_told = 0`,
	qCaseAction:   `UPDATE cases SET last_action = ?, last_action_at = ? WHERE id = ?`,
	qCaseClose:    `UPDATE cases SET close_reason = ?, last_action = ?, last_action_at = ? WHERE id = ?`,
	qAlertQueue:   `UPDATE cases SET alerts_sent = ?, alert_check_at = 0 WHERE id = ? AND alerts_sent = ? AND status = 'open'`,
	qAlertPlanned: `UPDATE cases SET alert_check_at = ? WHERE id = ? AND status = 'open' AND alert_from = ? AND alerts_sent = ?`,
	qFirstSeen:    `INSERT INTO processed_events (id, handled_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
	qMarkSwept:    `UPDATE sessions SET swept_at = updated_at WHERE id = ? AND updated_at = ?`,
}

// Statement names.
const (
	qPatientFind     = "patient_find"
	qSessionActive   = "session_active"
	qAnswers         = "answers"
	qCaseByID        = "case_by_id"
	qCasesOfPatient  = "cases_of_patient"
	qCaseByCard      = "case_by_card"
	qCardMessage     = "card_message"
	qPatientByID     = "patient_by_id"
	qDueEvents       = "due_events"
	qDueAlerts       = "due_alerts"
	qIdleSessions    = "idle_sessions"
	qSummarySessions = "summary_sessions"
	qSummaryAnswers  = "summary_answers"
	qSummaryCases    = "summary_cases"

	qPatientInsert  = "patient_insert"
	qSessionRestart = "session_restart"
	qSessionInsert  = "session_insert"
	qSessionTouch   = "session_touch"
	qAnswerUpsert   = "answer_upsert"
	qSessionStatus  = "session_status"
	qSessionPause   = "session_pause"
	qSessionEnd     = "session_end"
	qAnswersDiscard = "answers_discard"
	qCaseByIDTx     = "case_by_id_tx"
	qCaseOpenOf     = "case_open_of"
	qCaseInsert     = "case_insert"
	qCaseUpdate     = "case_update"
	qOutboxRerank   = "outbox_rerank"
	qEventQueue     = "event_queue"
	qEventDelivered = "event_delivered"
	qEventPromote   = "event_promote"
	qEventFailed    = "event_failed"
	qCardSet        = "card_set"
	qAudit          = "audit"
	qClaim          = "claim"
	qClaimTold      = "claim_told"
	qCaseAction     = "case_action"
	qCaseClose      = "case_close"
	qAlertQueue     = "alert_queue"
	qAlertPlanned   = "alert_planned"
	qFirstSeen      = "first_seen"
	qMarkSwept      = "mark_swept"
)

// patientFindSQL looks a patient up by the hash of their user id under
// each of the n loaded keys.
func patientFindSQL(n int) string {
	return `SELECT id, created_at FROM patients WHERE channel = ? AND user_id IN (?` + strings.Repeat(", ?", n-1) + `)`
}

// readDSN is the read pool's connection string: WAL readers never wait for
// the writer, and query_only keeps a write from slipping onto a reader.
func readDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(1)")
	// The background checkpoint runs here: at NORMAL (or FULL) it syncs
	// the WAL before copying it and the database after; at OFF it would
	// sync nothing, and lazy commits would never reach the disk.
	q.Add("_pragma", "synchronous(NORMAL)")
	return "file:" + path + "?" + q.Encode()
}

// readConns is the size of the read pool: a patient's read never queues
// behind the dispatcher's, and each connection keeps its prepared
// statements.
const readConns = 4

// prepare opens the read pool and prepares the hot statements on both
// pools; it runs once the database is migrated.
func (s *Store) prepare(ctx context.Context, path string) error {
	rdb, err := sql.Open("sqlite", readDSN(path))
	if err != nil {
		return fmt.Errorf("open read pool: %w", err)
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	s.rdb = rdb
	s.rs, s.ws = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	reads := maps.Clone(readSQL)
	reads[qPatientFind] = patientFindSQL(len(s.sealer.Hashes(nil)))
	for name, q := range reads {
		st, err := rdb.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", name, err)
		}
		s.rs[name] = st
	}
	for name, q := range writeSQL {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", name, err)
		}
		s.ws[name] = st
	}
	// Checkpoints move out of the commits: by default the commit that
	// takes the WAL past 1,000 pages copies it into the database and
	// syncs, a stall for whichever patient's answer it happens to be.
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		return fmt.Errorf("checkpoint setting: %w", err)
	}
	cctx, stop := context.WithCancel(context.Background())
	s.stopCkpt, s.ckptDone = stop, make(chan struct{})
	go s.checkpointer(cctx)
	return nil
}

// syncEvery is how often the background checkpointer syncs the WAL when
// lazy commits were made since its last sync; checkpointEvery how often it
// copies the WAL into the database. A copy syncs the database file (and a
// sync that changes a file's metadata commits the filesystem's journal,
// which stalls other writes for a few ms on a busy disk), so it runs less
// often than the data-only WAL sync the durability bound needs.
const (
	syncEvery       = 250 * time.Millisecond
	checkpointEvery = 2 * time.Second
)

// checkpointer, until ctx ends, syncs the WAL every syncEvery if
// commits were made since the last sync (what puts them on disk, see
// durability.go), and every checkpointEvery copies committed pages from
// the WAL into the database on the read pool's side of the lock (a passive
// checkpoint waits for no one and holds no writer up; it syncs the WAL
// before copying and the database after).
func (s *Store) checkpointer(ctx context.Context) {
	defer close(s.ckptDone)
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	var synced uint64 // commits covered by the last sync
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.ckptMu.Lock()
		if tick%int(checkpointEvery/syncEvery) == 0 {
			var busy, logPages, done int
			err := s.rdb.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &done)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("background checkpoint", slog.Any("err", err))
			}
		}
		// Read before the sync: a commit counted later is synced next time.
		if n := s.commits.Load(); n != synced {
			if err := s.syncWAL(); err != nil {
				s.log.Warn("background sync", slog.Any("err", err))
			} else {
				synced = n
			}
		}
		hook := s.onSync // set under ckptMu
		s.ckptMu.Unlock()
		if hook != nil {
			hook(synced)
		}
	}
}

// in returns the prepared write statement name bound to tx.
func (s *Store) in(ctx context.Context, tx *sql.Tx, name string) *sql.Stmt {
	return tx.StmtContext(ctx, s.ws[name])
}

// answerCache holds the decoded answers of recently active sessions, by
// session id, at the session version they were read at: a turn decodes
// (and decrypts) a session's earlier answers once, not on every turn. Every
// change to a session's answers moves its version on, so an entry at an
// older version (another process wrote) is never used.
type answerCache struct {
	mu sync.Mutex
	m  map[string]cachedAnswers // guarded by mu
}

type cachedAnswers struct {
	version int64
	answers map[string]intake.Answer // never changed once cached
}

// maxCachedSessions bounds the cache (about 2 KB a session).
const maxCachedSessions = 4096

// get returns a copy of the answers cached for session id at version.
func (c *answerCache) get(id string, version int64) (map[string]intake.Answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.version != version {
		return nil, false
	}
	return maps.Clone(e.answers), true
}

// put caches answers (which it keeps: the caller must not change them).
func (c *answerCache) put(id string, version int64, answers map[string]intake.Answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedAnswers{}
	}
	if _, ok := c.m[id]; !ok && len(c.m) >= maxCachedSessions {
		for k := range c.m { // evict one, any
			delete(c.m, k)
			break
		}
	}
	c.m[id] = cachedAnswers{version: version, answers: answers}
}

// advance records a write that moved session id from version to next,
// adding a (if not nil) to its answers; an entry at another version is
// dropped.
func (c *answerCache) advance(id string, version, next int64, a *intake.Answer) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok {
		return
	}
	if e.version != version {
		c.drop(id)
		return
	}
	answers := e.answers
	if a != nil {
		answers = maps.Clone(e.answers)
		answers[a.QuestionID] = *a
	}
	c.put(id, next, answers)
}

func (c *answerCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

func (c *answerCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// DueAlerts implements intake.Store.
func (s *Store) DueAlerts(ctx context.Context, now time.Time, limit int) ([]intake.AlertCase, error) {
	rows, err := s.rs[qDueAlerts].QueryContext(ctx, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due alerts: %w", err)
	}
	defer rows.Close()
	var out []intake.AlertCase
	for rows.Next() {
		var c intake.AlertCase
		var from, at int64
		if err := rows.Scan(&c.ID, &c.Priority, &from, &c.AlertsSent, &at); err != nil {
			return nil, fmt.Errorf("due alerts: %w", err)
		}
		c.AlertFrom = fromMS(from)
		out = append(out, c)
	}
	return out, rows.Err()
}

// planBatch is how many plans one write transaction records: the write
// path is never held for long, whatever the number of open cases.
const planBatch = 500

// PlanAlerts implements intake.Store.
func (s *Store) PlanAlerts(ctx context.Context, plans []intake.AlertPlan) error {
	for len(plans) > 0 {
		n := min(len(plans), planBatch)
		if err := s.planAlerts(ctx, plans[:n]); err != nil {
			return err
		}
		plans = plans[n:]
	}
	return nil
}

func (s *Store) planAlerts(ctx context.Context, plans []intake.AlertPlan) error {
	s.bg.Lock()
	defer s.bg.Unlock()
	tx, done, err := s.begin(ctx, lazy)
	if err != nil {
		return err
	}
	defer done()
	st := s.in(ctx, tx, qAlertPlanned)
	for _, p := range plans {
		// Never 0 (that means "not worked out").
		at := max(ms(p.At), 1)
		if _, err := st.ExecContext(ctx, at, p.CaseID, ms(p.AlertFrom), p.AlertsSent); err != nil {
			return fmt.Errorf("plan alerts: %w", err)
		}
	}
	return s.commit(tx)
}

// ReplanAlerts implements intake.Store, in short transactions.
func (s *Store) ReplanAlerts(ctx context.Context) error {
	for {
		var n int64
		s.bg.Lock()
		err := s.write(ctx, lazy, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE cases SET alert_check_at = 0 WHERE id IN
				(SELECT id FROM cases WHERE status = 'open' AND alert_check_at > 0 LIMIT ?)`, planBatch)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			return nil
		})
		s.bg.Unlock()
		if err != nil {
			return fmt.Errorf("replan alerts: %w", err)
		}
		if n < planBatch {
			return nil
		}
	}
}

// CardDeliveredWithPage implements intake.Store.
func (s *Store) CardDeliveredWithPage(ctx context.Context, eventID int64, caseID, cardMessageID string) (bool, error) {
	s.bg.Lock()
	defer s.bg.Unlock()
	tx, done, err := s.begin(ctx, lazy)
	if err != nil {
		return false, err
	}
	defer done()
	if err := s.delivered(ctx, tx, eventID, caseID, cardMessageID); err != nil {
		return false, err
	}
	res, err := s.in(ctx, tx, qAlertQueue).ExecContext(ctx, 1, caseID, 0)
	if err != nil {
		return false, fmt.Errorf("page with card: %w", err)
	}
	counted := false
	if k, _ := res.RowsAffected(); k == 1 {
		counted = true
		if err := s.audit(ctx, tx, intake.AuditEntry{Actor: "intakebot", Action: "case.page", CaseID: caseID, Result: "sent 1 with the card"},
			s.Now().UTC()); err != nil {
			return false, err
		}
	}
	return counted, s.commit(tx)
}
