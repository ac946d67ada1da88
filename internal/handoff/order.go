package handoff

import (
	"slices"
	"strings"

	"github.com/intakebot/intakebot/internal/intake"
)

// SortForStaff orders cases the way staff work through them: every case not
// yet closed first (open or claimed), most urgent first (urgent, high,
// normal, low), newest first within a priority; closed cases last, in the
// same order. A closed urgent case never sits above an open one.
func SortForStaff(cases []intake.Case) {
	slices.SortStableFunc(cases, func(a, b intake.Case) int {
		if ca, cb := a.Status == intake.CaseClosed, b.Status == intake.CaseClosed; ca != cb {
			if ca {
				return 1
			}
			return -1
		}
		if ra, rb := a.Priority.Rank(), b.Priority.Rank(); ra != rb {
			return rb - ra
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
