// Package reports holds the read models of the console: the Global Server
// Report, the duplicate-serial detector, effective routing, the X.400
// connector check and dir-sync status. The rules are pure functions of
// data (table-tested with literal inputs); loaders read the store.
package reports
