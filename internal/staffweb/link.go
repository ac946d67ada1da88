package staffweb

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// LinkTTL is how long a link posted by Details works.
const LinkTTL = 10 * time.Minute

// URL is the console's public address.
func (s *Server) URL() string { return s.cfg.PublicURL }

// Link returns a short-lived signed link to a case, for Details on a card:
// it names the case reference only and opens the case page once the staff
// member is signed in.
func (s *Server) Link(caseID string) (string, error) {
	exp := strconv.FormatInt(s.cfg.Now().Add(LinkTTL).Unix(), 10)
	payload := caseID + "." + exp
	return s.cfg.PublicURL + "/link?t=" + url.QueryEscape(payload+"."+s.sign(payload)), nil
}

func (s *Server) sign(payload string) string {
	m := hmac.New(sha256.New, s.cfg.LinkKey)
	m.Write([]byte("intakebot console link\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// openLink checks a link's signature and age, then opens the case (after
// sign-in if needed).
func (s *Server) openLink(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(r.URL.Query().Get("t"), ".")
	if len(parts) != 3 || !hmac.Equal([]byte(s.sign(parts[0]+"."+parts[1])), []byte(parts[2])) {
		s.errorPage(w, r, http.StatusBadRequest, "Link not valid", "This link is not one the clinic's bot made. Open the case from the queue instead.")
		return
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.cfg.Now().After(time.Unix(exp, 0)) {
		s.errorPage(w, r, http.StatusGone, "Link expired", "This link has expired (links from Details work for 10 minutes). Press Details on the card again, or open the case from the queue.")
		return
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(parts[0]), http.StatusSeeOther)
}
