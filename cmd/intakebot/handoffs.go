package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

func runHandoffs(ctx context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stderr, "Usage: intakebot handoffs list [--status open|claimed|closed] [--json]\n       intakebot handoffs show [--json] ID\n\nRead cases in the terminal (decrypted with the data key). Every 'show' is audited.")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "list":
		return handoffsList(ctx, e, args[1:])
	case "show":
		return handoffsShow(ctx, e, args[1:])
	}
	fmt.Fprintf(e.stderr, "intakebot handoffs: unknown subcommand %q (use list or show)\n", args[0])
	return exitUsage
}

type caseJSON struct {
	ID            string                  `json:"id"`
	Outcome       string                  `json:"outcome"`
	Priority      string                  `json:"priority"`
	Status        string                  `json:"status"`
	Assignee      string                  `json:"assignee,omitempty"`
	Flags         []string                `json:"flags"`
	Scores        map[string]intake.Score `json:"scores,omitempty"`
	Contact       *intake.Contact         `json:"contact,omitempty"`
	Patient       string                  `json:"patient,omitempty"` // who, on their channel
	Reach         string                  `json:"reach,omitempty"`   // the best way to reach them now
	Notes         string                  `json:"notes,omitempty"`
	Answers       []intake.CaseAnswer     `json:"answers,omitempty"`
	Said          []intake.Said           `json:"said,omitempty"`
	CloseReason   string                  `json:"close_reason,omitempty"`
	CloseNote     string                  `json:"close_note,omitempty"`
	LastAction    string                  `json:"last_action,omitempty"`
	ScriptVersion string                  `json:"script_version"`
	CreatedAt     time.Time               `json:"created_at"`
	UpdatedAt     time.Time               `json:"updated_at"`
}

func toJSON(c intake.Case, details bool) caseJSON {
	j := caseJSON{ID: c.ID, Outcome: c.Outcome, Priority: string(c.Priority), Status: string(c.Status), Assignee: c.Assignee, Flags: c.Flags,
		ScriptVersion: c.ScriptVersion, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CloseReason: c.CloseReason, LastAction: c.LastAction}
	if j.Flags == nil {
		j.Flags = []string{}
	}
	if details {
		ct := c.Contact
		j.Scores, j.Contact, j.Notes, j.CloseNote = c.Scores, &ct, c.Notes, c.CloseNote
		j.Answers, j.Said = c.Answers, c.Said
	}
	return j
}

func handoffsList(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("handoffs list", "Usage: intakebot handoffs list [--status open|claimed|closed] [--json]", &c)
	status := fs.String("status", "", "only cases with this `status`: open, claimed or closed")
	jsonOut := fs.Bool("json", false, "print JSON")
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	switch intake.CaseStatus(*status) {
	case "", intake.CaseOpen, intake.CaseClaimed, intake.CaseClosed:
	default:
		fmt.Fprintf(e.stderr, "intakebot handoffs list: --status %q: use open, claimed or closed\n", *status)
		return exitUsage
	}
	st, _, err := staffStore(ctx, e, cfg)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	cases, err := st.Cases(ctx, intake.CaseFilter{Status: intake.CaseStatus(*status)})
	if err != nil {
		return fail(e, err)
	}
	handoff.SortForStaff(cases)
	if *jsonOut {
		out := make([]caseJSON, 0, len(cases))
		for _, cs := range cases {
			out = append(out, toJSON(cs, false))
		}
		return writeJSON(e, out)
	}
	if len(cases) == 0 {
		fmt.Fprintln(e.stdout, "No cases.")
		return exitOK
	}
	tw := tabwriter.NewWriter(termWriter{e.stdout}, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tPRIORITY\tOUTCOME\tSTATUS\tASSIGNEE\tAGE\tCONTACT\tFLAGS\tLAST ACTION")
	for _, cs := range cases {
		status := string(cs.Status)
		if cs.CloseReason != "" {
			status += " (" + cs.CloseReason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", cs.ID, cs.Priority, cs.Outcome, status, orDash(cs.Assignee), age(time.Since(cs.CreatedAt)), orDash(cs.Contact.Method), len(cs.Flags), orDash(clipRunes(cs.LastAction, 48)))
	}
	tw.Flush()
	return exitOK
}

func handoffsShow(ctx context.Context, e env, args []string) int {
	c := common{args: 1}
	fs := newFlags("handoffs show", "Usage: intakebot handoffs show [--json] ID\n\nShow one case in full (decrypted). Every view is written to the audit log.", &c)
	jsonOut := fs.Bool("json", false, "print JSON")
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	st, script, err := staffStore(ctx, e, cfg)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	cs, err := st.Case(ctx, fs.Arg(0))
	if intake.ErrorCode(err) == intake.ENOTFOUND {
		fmt.Fprintf(e.stderr, "intakebot handoffs show: no such case %s\n", fs.Arg(0))
		return exitFailure
	} else if err != nil {
		return fail(e, err)
	}
	// Who viewed what is audited before anything is shown.
	if err := st.Audit(ctx, intake.AuditEntry{Actor: "console:" + defaultStaff(), Action: "case.view", CaseID: cs.ID, Result: "ok"}); err != nil {
		return fail(e, err)
	}
	p, err := st.PatientByID(ctx, cs.PatientID)
	if err != nil && intake.ErrorCode(err) != intake.ENOTFOUND {
		return fail(e, err)
	}
	if *jsonOut {
		j := toJSON(cs, true)
		j.Patient, j.Reach = handoff.Who(p), handoff.Reach(cs, p)
		return writeJSON(e, j)
	}
	e.stdout = termWriter{e.stdout}
	w := e.stdout
	status := string(cs.Status)
	if cs.Assignee != "" {
		status += " (" + cs.Assignee + ")"
	}
	if r, ok := intake.CloseReasonByID(cs.CloseReason); ok {
		status += ": " + r.Label
	}
	fmt.Fprintf(w, "Case %s\nPriority: %s\nOutcome:  %s\nStatus:   %s\nOpened:   %s (%s)\nUpdated:  %s\n",
		cs.ID, cs.Priority, cs.Outcome, status, cs.CreatedAt.Local().Format(time.DateTime), age(time.Since(cs.CreatedAt)), cs.UpdatedAt.Local().Format(time.DateTime))
	if script != nil {
		printScores(e, script, cs.Scores)
		labels := conversation.FlagLabels(script, cs.Flags)
		if len(labels) > 0 {
			fmt.Fprintf(w, "Flags:\n  %s\n", strings.Join(labels, "\n  "))
		}
	}
	fmt.Fprintf(w, "Patient:  %s\nContact:  %s\n", handoff.Who(p), handoff.Reach(cs, p))
	if len(cs.Answers) > 0 {
		fmt.Fprintln(w, "Safety and medical history:")
		for _, a := range cs.Answers {
			fmt.Fprintf(w, "  %s: %s\n", a.Question, a.Answer)
		}
	}
	if len(cs.Said) > 0 {
		fmt.Fprintln(w, "What the patient wrote (crisis language):")
		for _, said := range cs.Said {
			fmt.Fprintf(w, "  %s  %s\n", said.At.Local().Format(time.DateTime), strings.ReplaceAll(said.Text, "\n", "\n  "))
		}
	}
	if cs.Notes != "" {
		fmt.Fprintf(w, "Notes from the patient:\n  %s\n", strings.ReplaceAll(cs.Notes, "\n", "\n  "))
	}
	if cs.CloseNote != "" {
		fmt.Fprintf(w, "Closing note:\n  %s\n", strings.ReplaceAll(cs.CloseNote, "\n", "\n  "))
	}
	if cs.LastAction != "" {
		fmt.Fprintf(w, "Last action: %s (%s)\n", cs.LastAction, age(time.Since(cs.LastActionAt)))
	}
	fmt.Fprintf(w, "Script version: %s\n", cs.ScriptVersion)
	return exitOK
}

func runAudit(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("audit", "Usage: intakebot audit [--case ID] [--json]\n\nPrint the append-only audit log: who viewed or acted on which case, and when.", &c)
	caseID := fs.String("case", "", "only rows for this case `ID`")
	jsonOut := fs.Bool("json", false, "print JSON")
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	st, _, err := staffStore(ctx, e, cfg)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	id := strings.ToUpper(strings.TrimSpace(*caseID))
	if id != "" {
		// An unknown case is an error, not an empty log that reads as
		// "nobody touched it".
		if _, err := st.Case(ctx, id); intake.ErrorCode(err) == intake.ENOTFOUND {
			fmt.Fprintf(e.stderr, "intakebot audit: no such case %s\n", id)
			return exitFailure
		} else if err != nil {
			return fail(e, err)
		}
	}
	rows, err := st.AuditLog(ctx, id)
	if err != nil {
		return fail(e, err)
	}
	if *jsonOut {
		if rows == nil {
			rows = []intake.AuditEntry{}
		}
		return writeJSON(e, rows)
	}
	tw := tabwriter.NewWriter(termWriter{e.stdout}, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tCASE\tRESULT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.At.Local().Format(time.DateTime), r.Actor, r.Action, orDash(r.CaseID), r.Result)
	}
	tw.Flush()
	return exitOK
}

// staffStore opens an existing database for a staff command, logging to
// standard error. The script is loaded for labels only: a broken script does
// not stop staff reading cases.
func staffStore(ctx context.Context, e env, cfg config.Config) (*sqlite.Store, *screening.Script, error) {
	log, _, err := newLogger(cfg, "")
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, e, cfg, false, log)
	if err != nil {
		return nil, nil, err
	}
	script, _ := screening.Load(contentFS(cfg), "screening.yaml")
	return st, script, nil
}

func writeJSON(e env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(e, err)
	}
	return exitOK
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func defaultStaff() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// clipRunes keeps a list's last column short, so a row fits a terminal
// and the columns stay lined up instead of wrapping; handoffs show has it
// whole.
func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
