package web

import "strconv"

// parseID reads s as an id written canonically: decimal digits, no sign,
// no leading zero, no spaces, no fraction, within int64. "01", "+1",
// "1.0" and " 1" are not 1: two spellings of one id would be two cache
// keys, two audit subjects and two answers to one question.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
