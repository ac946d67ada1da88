package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// PurgeCounts is what a retention sweep erased (or, in a dry run, would).
type PurgeCounts struct {
	// Sessions are finished screenings (completed, stopped, restarted),
	// deleted with their Answers.
	Sessions, Answers int
	// Cases are closed cases whose details (scores, flags, contact, notes,
	// closing note) were erased; the row stays for the audit log.
	Cases int
	// Patients are patients left with nothing else, whose user id (sealed
	// and hashed) was erased.
	Patients int
}

// Purge erases what is older than before, as /forget-me erases: finished
// screenings and their answers, the details of cases closed before it, and
// the user ids of patients left with nothing else. Active screenings and
// cases not closed are never touched. It writes one audit row with the
// counts only, then clears the WAL. With dryRun nothing changes and the
// counts say what would go.
func (s *Store) Purge(ctx context.Context, before time.Time, dryRun bool) (PurgeCounts, error) {
	n, err := s.purgeTx(ctx, before, dryRun)
	if err != nil || dryRun || n == (PurgeCounts{}) {
		return n, err
	}
	if err := s.checkpoint(ctx); err != nil {
		return n, fmt.Errorf("purged, but the write-ahead log still holds old copies (the next sweep tries again): %w", err)
	}
	return n, nil
}

// purgeTx purges in one synced transaction (the write connection is
// released when it returns, for the checkpoint after it).
func (s *Store) purgeTx(ctx context.Context, before time.Time, dryRun bool) (PurgeCounts, error) {
	var n PurgeCounts
	tx, done, err := s.begin(ctx, synced)
	if err != nil {
		return n, err
	}
	defer done()
	cut, now := ms(before), s.Now().UTC()
	if n, err = s.purge(ctx, tx, cut, now); err != nil {
		return n, fmt.Errorf("purge: %w", err)
	}
	if dryRun {
		return n, nil // rolled back
	}
	if err := s.audit(ctx, tx, intake.AuditEntry{Actor: "intakebot", Action: "retention.purge",
		Result: fmt.Sprintf("sessions %d, answers %d, cases %d, patients %d", n.Sessions, n.Answers, n.Cases, n.Patients)}, now); err != nil {
		return n, err
	}
	return n, s.commit(tx)
}

func (s *Store) purge(ctx context.Context, tx *sql.Tx, cut int64, now time.Time) (PurgeCounts, error) {
	var n PurgeCounts
	const old = `SELECT id FROM sessions WHERE status <> 'active' AND updated_at < ?`
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM answers WHERE session_id IN (`+old+`)`, cut).Scan(&n.Answers); err != nil {
		return n, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM answers WHERE session_id IN (`+old+`)`, cut); err != nil {
		return n, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET session_id = '' WHERE session_id IN (`+old+`)`, cut); err != nil {
		return n, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE status <> 'active' AND updated_at < ?`, cut)
	if err != nil {
		return n, err
	}
	n.Sessions = rowsAffected(res)

	rows, err := tx.QueryContext(ctx, caseSelect+` WHERE status = 'closed' AND purged_at = 0 AND updated_at < ?`, cut)
	if err != nil {
		return n, err
	}
	var cases []intake.Case
	for rows.Next() {
		c, err := s.scanCase(rows)
		if err != nil {
			rows.Close()
			return n, err
		}
		cases = append(cases, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return n, err
	}
	for _, c := range cases {
		c.Flags, c.Scores, c.Contact, c.Notes, c.CloseNote = nil, nil, intake.Contact{}, "", ""
		c.Answers, c.Said = nil, nil
		if err := s.writeCase(ctx, tx, c, false); err != nil {
			return n, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM case_entries WHERE case_id = ?`, c.ID); err != nil {
			return n, err
		}
		// updated_at stays: the case was closed then, not changed now.
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET purged_at = ?, updated_at = ? WHERE id = ?`, ms(now), ms(c.UpdatedAt), c.ID); err != nil {
			return n, err
		}
	}
	n.Cases = len(cases)

	res, err = tx.ExecContext(ctx, `UPDATE patients SET user_id = 'erased:' || lower(hex(randomblob(16))), user_sealed = '', hashed = 1
		WHERE user_sealed <> '' AND created_at < ?
		AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.patient_id = patients.id)
		AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.patient_id = patients.id AND c.purged_at = 0)`, cut)
	if err != nil {
		return n, err
	}
	n.Patients = rowsAffected(res)
	return n, nil
}

func rowsAffected(res sql.Result) int {
	k, _ := res.RowsAffected()
	return int(k)
}
