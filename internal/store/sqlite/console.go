package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// What the staff web console reads beyond the intake.Store interface: the
// answers of a finished screening, what was said on a case, and counts for
// the weekly report.

func entryAD(id string) []byte { return []byte("entry:" + id) }

type entryBody struct {
	Name string `json:"n,omitempty"`
	Text string `json:"t"`
}

// AddCaseEntry stores a note, a message to the patient or a relayed message,
// sealed.
func (s *Store) AddCaseEntry(ctx context.Context, e intake.CaseEntry) error {
	if e.At.IsZero() {
		e.At = s.Now()
	}
	id := newID("E", 12)
	plain, _ := json.Marshal(entryBody{Name: e.Name, Text: e.Text})
	sealed, err := s.sealer.Seal(plain, entryAD(id))
	if err != nil {
		return fmt.Errorf("seal case entry: %w", err)
	}
	// A staff note or message is a staff action (synced); what the patient
	// wrote to staff is an ordinary turn (lazy).
	d := synced
	if e.Kind == intake.EntryRelay {
		d = lazy
	}
	err = s.write(ctx, d, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO case_entries (id, case_id, kind, actor, at, sealed) VALUES (?, ?, ?, ?, ?, ?)`,
			id, e.CaseID, e.Kind, e.Actor, ms(e.At), sealed)
		return err
	})
	if err != nil {
		return fmt.Errorf("add case entry: %w", err)
	}
	return nil
}

// CaseEntries lists what was said on a case, oldest first.
func (s *Store) CaseEntries(ctx context.Context, caseID string) ([]intake.CaseEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, case_id, kind, actor, at, sealed FROM case_entries WHERE case_id = ? ORDER BY at, rowid`, caseID)
	if err != nil {
		return nil, fmt.Errorf("read case entries: %w", err)
	}
	defer rows.Close()
	var out []intake.CaseEntry
	for rows.Next() {
		var e intake.CaseEntry
		var at int64
		var sealed string
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Kind, &e.Actor, &at, &sealed); err != nil {
			return nil, err
		}
		plain, err := s.sealer.Open(sealed, entryAD(e.ID))
		if err != nil {
			return nil, fmt.Errorf("open case entry %s: %w", e.ID, err)
		}
		var b entryBody
		if err := json.Unmarshal(plain, &b); err != nil {
			return nil, fmt.Errorf("decode case entry %s: %w", e.ID, err)
		}
		e.Name, e.Text, e.At = b.Name, b.Text, fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SessionAnswers returns the answers of a screening (active or finished);
// none for a session that was erased.
func (s *Store) SessionAnswers(ctx context.Context, sessionID string) (map[string]intake.Answer, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return s.answers(ctx, tx, sessionID) // a read statement, on the read pool
}

// ScreeningCounts counts the screenings started in [from, to) and, of
// those, the ones that reached an outcome.
func (s *Store) ScreeningCounts(ctx context.Context, from, to time.Time) (started, finished int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status IN ('completed', 'stopped') THEN 1 ELSE 0 END), 0)
		FROM sessions WHERE created_at >= ? AND created_at < ?`, ms(from), ms(to)).Scan(&started, &finished)
	if err != nil {
		return 0, 0, fmt.Errorf("count screenings: %w", err)
	}
	return started, finished, nil
}

// DerivedKey is a 32-byte secret for purpose, derived from the data key, so
// processes sharing the database share it (the console's link key).
func (s *Store) DerivedKey(purpose string) []byte {
	h := s.sealer.Hash([]byte("intakebot derived key\x00" + purpose))
	sum := sha256.Sum256([]byte(h))
	return sum[:]
}

// CaseQueue returns one page of cases, most urgent then newest first, and
// how many match in all. The cases carry no details (scores, flags,
// contact, notes are not opened): a queue does not show them, and 10,000
// cases are listed without decrypting any.
func (s *Store) CaseQueue(ctx context.Context, f intake.QueueFilter) ([]intake.Case, int, error) {
	where, args := ` WHERE 1=1`, []any{}
	switch {
	case f.Status != "":
		where += ` AND status = ?`
		args = append(args, f.Status)
	case f.NotClosed:
		where += ` AND status <> 'closed'`
	}
	if f.Priority != "" {
		where += ` AND priority = ?`
		args = append(args, f.Priority)
	}
	if f.AssigneeID != "" {
		where += ` AND assignee_id = ?`
		args = append(args, f.AssigneeID)
	} else if f.Unassigned {
		where += ` AND assignee_id = ''`
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM cases`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count queue: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, patient_id, outcome, priority, status, assignee, assignee_id, created_at, updated_at,
		close_reason, last_action, last_action_at FROM cases`+where+` ORDER BY priority_rank DESC, created_at DESC, id LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("read queue: %w", err)
	}
	defer rows.Close()
	var out []intake.Case
	for rows.Next() {
		var c intake.Case
		var created, updated, lastAt int64
		if err := rows.Scan(&c.ID, &c.PatientID, &c.Outcome, &c.Priority, &c.Status, &c.Assignee, &c.AssigneeID, &created, &updated,
			&c.CloseReason, &c.LastAction, &lastAt); err != nil {
			return nil, 0, err
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		if lastAt != 0 {
			c.LastActionAt = fromMS(lastAt)
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}
