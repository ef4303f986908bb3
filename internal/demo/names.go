package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/store"
)

var firstNames = []string{
	"Alice", "Andrew", "Angela", "Anne", "Anthony", "Barbara", "Benjamin", "Betty", "Brian", "Carl",
	"Carol", "Catherine", "Charles", "Christine", "Christopher", "Claire", "Daniel", "David", "Deborah", "Dennis",
	"Diane", "Donald", "Donna", "Dorothy", "Douglas", "Edward", "Elaine", "Elizabeth", "Emily", "Eric",
	"Frances", "Frank", "Gary", "George", "Gerald", "Gregory", "Hannah", "Harold", "Heather", "Helen",
	"Henry", "Jack", "Janet", "Janice", "Jason", "Jean", "Jeffrey", "Jennifer", "Jeremy", "Jessica",
	"Joan", "John", "Jonathan", "Joseph", "Joyce", "Judith", "Julia", "Karen", "Kathleen", "Keith",
	"Kenneth", "Kevin", "Laura", "Lawrence", "Linda", "Lisa", "Margaret", "Maria", "Mark", "Martha",
	"Mary", "Matthew", "Michael", "Michelle", "Nancy", "Nicholas", "Patricia", "Patrick", "Paul", "Peter",
	"Philip", "Rachel", "Raymond", "Rebecca", "Richard", "Robert", "Roger", "Ronald", "Ruth", "Ryan",
	"Samuel", "Sandra", "Sarah", "Scott", "Sharon", "Stephen", "Steven", "Susan", "Teresa", "Thomas",
	"Timothy", "Victoria", "Walter", "Wayne", "William", "Yvonne",
}

var lastNames = []string{
	"Adams", "Allen", "Anderson", "Bailey", "Baker", "Barnes", "Bell", "Bennett", "Brooks", "Brown",
	"Butler", "Campbell", "Carter", "Clark", "Collins", "Cook", "Cooper", "Cox", "Davis", "Dawson",
	"Edwards", "Evans", "Fischer", "Fisher", "Foster", "Garcia", "Gibson", "Gonzalez", "Gray", "Green",
	"Griffin", "Hall", "Harris", "Hayes", "Hughes", "Jackson", "James", "Jenkins", "Johnson", "Jones",
	"Kelly", "Kennedy", "King", "Klein", "Lee", "Lewis", "Long", "Lopez", "Martin", "Martinez",
	"Meyer", "Miller", "Mitchell", "Moore", "Morgan", "Morris", "Murphy", "Nelson", "Nguyen", "Owens",
	"Parker", "Patel", "Perez", "Perry", "Peterson", "Phillips", "Powell", "Price", "Reed", "Richardson",
	"Rivera", "Roberts", "Robinson", "Rogers", "Ross", "Russell", "Sanders", "Schmidt", "Schneider", "Scott",
	"Shaw", "Simmons", "Smith", "Stewart", "Sullivan", "Tanaka", "Taylor", "Thomas", "Thompson", "Torres",
	"Turner", "Walker", "Ward", "Watson", "Weber", "White", "Williams", "Wilson", "Wood", "Wright",
	"Young",
}

// cities name the sites of generated networks.
var cities = []string{
	"Redmond", "London", "Chicago", "Boston", "Atlanta", "Dallas", "Munich", "Sydney", "Toronto", "Paris",
	"Tokyo", "Singapore", "Denver", "Seattle", "Phoenix", "Houston", "Miami", "Detroit", "Minneapolis", "Portland",
	"Vancouver", "Montreal", "Dublin", "Madrid", "Milan", "Zurich", "Vienna", "Stockholm", "Oslo", "Copenhagen",
	"Helsinki", "Warsaw", "Prague", "Brussels", "Amsterdam", "Frankfurt", "Hamburg", "Lyon", "Lisbon", "Athens",
	"Istanbul", "Dubai", "Mumbai", "Bangalore", "Hong Kong", "Seoul", "Osaka", "Taipei", "Manila", "Jakarta",
	"Auckland", "Melbourne", "Perth", "Johannesburg", "Cairo", "Nairobi", "Sao Paulo", "Buenos Aires", "Santiago", "Mexico City",
}

var subjectStems = []string{
	"Quarterly budget review", "Staff meeting agenda", "Travel expense report", "Project status update",
	"Network outage this weekend", "New hire orientation", "Office move schedule", "Lunch on Friday?",
	"Customer escalation", "Q3 sales figures", "Product launch plan", "Vacation request",
	"Printer on 3rd floor", "Backup tapes rotation", "Contract renewal", "Holiday party",
	"Minutes of today's meeting", "Draft proposal attached", "Server maintenance window", "Training schedule",
	"Invoice 4471", "Purchase order approval", "Conference room booking", "Inventory count",
	"Mail migration plan", "Directory update", "Phone list", "Weekly report",
	"Performance reviews", "Shipping delay", "Price list changes", "Safety inspection",
	"Parking permits", "Benefits enrollment", "Year-end close", "Support ticket follow-up",
	"Marketing brochure", "Trade show booth", "Visitor badges", "Fax machine replaced",
}

// subjectPool is every subject a generated message can carry, built once so
// that generating a message allocates no string.
var subjectPool = func() []string {
	var out []string
	for _, s := range subjectStems {
		out = append(out, s, s, "RE: "+s, "RE: "+s, "FW: "+s)
	}
	return out
}()

var folders = []string{"Inbox", "Inbox", "Inbox", "Inbox", "Inbox", "Inbox", "Inbox", "Sent Mail", "Sent Mail", "Wastebasket"}

// aliases hands out mailbox aliases, unique across the network without
// regard to case: the first "jsmith" is jsmith, the next jsmith2, and so on.
// Bases are letters only, so a numbered alias never equals a base.
type aliases struct {
	used map[string]int
}

func newAliases() *aliases { return &aliases{used: map[string]int{}} }

func (a *aliases) next(first, last string) string {
	base := strings.ToLower(first[:1] + last)
	n := a.used[base] + 1
	a.used[base] = n
	if n == 1 {
		return base
	}
	return base + strconv.Itoa(n)
}

// reserve marks an exact alias as used (the hand-made mailboxes of the demo).
func (a *aliases) reserve(alias string) {
	a.used[strings.ToLower(alias)] = max(a.used[strings.ToLower(alias)], 1)
}

func randomName(r *rand.Rand) (first, last string) {
	return firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
}

// message returns a plausible message for user, received before anchor
// within about 400 days.
func message(r *rand.Rand, userID, serverID int64, anchor time.Time) store.BulkMessage {
	size := int64(600 + r.IntN(3000))
	if r.IntN(10) == 0 {
		size += int64(r.IntN(400_000)) // an attachment
	}
	age := time.Duration(r.Int64N(int64(400 * 24 * time.Hour)))
	return store.BulkMessage{
		UserID:     userID,
		ServerID:   serverID,
		Folder:     folders[r.IntN(len(folders))],
		Subject:    subjectPool[r.IntN(len(subjectPool))],
		Size:       size,
		ReceivedAt: anchor.Add(-age).Truncate(time.Second),
	}
}

// serial returns a unique serial number for server number i: an odd
// multiplier is a bijection on uint32, so distinct i give distinct serials
// while looking scattered.
func serial(kind string, i int, salt uint32) string {
	h := (uint32(i)+1)*2654435761 ^ salt
	prefix := "EX"
	switch kind {
	case "msmail-mac":
		prefix = "MA"
	case "msmail-pc":
		prefix = "PC"
	}
	return fmt.Sprintf("%s-%04X-%04X", prefix, h>>16, h&0xffff)
}

// address returns the primary (net 0) or secondary (net 1) address of
// server number g; unique for g below 15 million.
func address(g, net int) string {
	b, c, d := g/62500, (g/250)%250+1, g%250+1
	if net == 0 {
		return fmt.Sprintf("10.%d.%d.%d", b, c, d)
	}
	return fmt.Sprintf("172.%d.%d.%d", 16+b%16, c, d)
}

// apportion splits total into len(weights) non-negative integers
// proportional to weights that sum exactly to total.
func apportion(total int64, weights []float64) []int64 {
	out := make([]int64, len(weights))
	if len(weights) == 0 {
		return out
	}
	var sum float64
	for _, w := range weights {
		sum += w
	}
	var given int64
	for i, w := range weights {
		out[i] = int64(float64(total) * w / sum)
		given += out[i]
	}
	// Rounding can overshoot by a unit or two: take them back.
	for i := 0; given > total; i = (i + 1) % len(out) {
		if out[i] > 0 {
			out[i]--
			given--
		}
	}
	// The floors leave fewer than len(weights) over: one more each to the
	// first ones that have a weight.
	for i := 0; given < total && sum > 0; i = (i + 1) % len(out) {
		if weights[i] > 0 {
			out[i]++
			given++
		}
	}
	return out
}
