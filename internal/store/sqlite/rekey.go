package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// sealedColumns are every sealed value in the database: the table, its key
// columns, the sealed column, and how the record binds it (seal's additional
// data) from the key columns.
var sealedColumns = []struct {
	table, keys, col string
	where            string // which rows hold sealed values
	ad               func(keys []string) []byte
}{
	{"meta", "key", "value", "key = 'key_check'", func(k []string) []byte { return []byte("meta:" + k[0]) }},
	{"answers", "session_id, question_id", "sealed", "1", func(k []string) []byte { return answerAD(k[0], k[1]) }},
	{"cases", "id", "details", "1", func(k []string) []byte { return caseAD(k[0]) }},
	{"patients", "id", "user_sealed", "user_sealed <> ''", func(k []string) []byte { return patientAD(k[0]) }},
	{"case_entries", "id", "sealed", "1", func(k []string) []byte { return entryAD(k[0]) }},
}

// Stale counts the values not yet sealed with the current key. (A patient's
// lookup hash always changes with its sealed user id, in one statement.)
func (s *Store) Stale(ctx context.Context) (int, error) {
	total := 0
	for _, c := range sealedColumns {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+c.table+` WHERE `+c.where+` AND substr(`+c.col+`, 1, 9) <> ?`,
			s.sealer.CurrentKeyID()+":").Scan(&n); err != nil {
			return 0, fmt.Errorf("count stale values: %w", err)
		}
		total += n
	}
	return total, nil
}

// RekeyBatch seals up to n values again with the current key, in one
// transaction, and returns how many it changed; 0 means none is left. Each
// value is opened with the key that sealed it (the sealer must hold it) and
// replaced only if unchanged since it was read, so a crash at any point
// leaves every value sealed with one key or the other, and running it again
// goes on where it stopped. A patient's lookup hash moves to the current key
// with its sealed user id.
func (s *Store) RekeyBatch(ctx context.Context, n int) (int, error) {
	tx, release, err := s.begin(ctx, synced)
	if err != nil {
		return 0, err
	}
	defer release()
	cur := s.sealer.CurrentKeyID() + ":"
	done := 0
	for _, c := range sealedColumns {
		if done >= n {
			break
		}
		keys := strings.Split(c.keys, ", ")
		rows, err := tx.QueryContext(ctx, `SELECT `+c.keys+`, `+c.col+` FROM `+c.table+` WHERE `+c.where+` AND substr(`+c.col+`, 1, 9) <> ? LIMIT ?`, cur, n-done)
		if err != nil {
			return 0, fmt.Errorf("rekey %s: %w", c.table, err)
		}
		type row struct {
			keys   []string
			sealed string
		}
		var todo []row
		for rows.Next() {
			r := row{keys: make([]string, len(keys))}
			dest := make([]any, 0, len(keys)+1)
			for i := range r.keys {
				dest = append(dest, &r.keys[i])
			}
			if err := rows.Scan(append(dest, &r.sealed)...); err != nil {
				rows.Close()
				return 0, err
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		where := strings.Join(keys, " = ? AND ") + " = ?"
		for _, r := range todo {
			ad := c.ad(r.keys)
			plain, err := s.sealer.Open(r.sealed, ad)
			if err != nil {
				return 0, fmt.Errorf("rekey %s %s: %w", c.table, strings.Join(r.keys, "/"), err)
			}
			sealed, err := s.sealer.Seal(plain, ad)
			if err != nil {
				return 0, err
			}
			set, args := c.col+` = ?`, []any{sealed}
			if c.table == "patients" {
				// The id's hash under the current key, from the sealed id.
				var channel string
				if err := tx.QueryRowContext(ctx, `SELECT channel FROM patients WHERE id = ?`, r.keys[0]).Scan(&channel); err != nil {
					return 0, err
				}
				set += `, user_id = ?`
				args = append(args, s.sealer.Hash(userKey(channel, string(plain))))
			}
			for _, k := range r.keys {
				args = append(args, k)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET `+set+` WHERE `+where+` AND `+c.col+` = ?`, append(args, r.sealed)...); err != nil {
				return 0, fmt.Errorf("rekey %s: %w", c.table, err)
			}
			done++
		}
	}
	return done, s.commit(tx)
}

// Checkpoint copies the WAL into the database and truncates it, so no
// copy of a value sealed with a retired key stays in the WAL.
func (s *Store) Checkpoint(ctx context.Context) error { return s.checkpoint(ctx) }
