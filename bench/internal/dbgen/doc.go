// Package dbgen fills a PostgreSQL database with Bitbucket-like tables
// (projects, repositories, users, pull requests, activities, comments,
// changesets and their repository memberships, push refs) using
// generate_series, so a gigabyte takes a minute and nothing is downloaded,
// and plays a day of churn on it (new rows, edited rows), as a busy instance
// makes between two backups. MatchHome makes the repository table and the
// open pull requests agree with a home homegen generated, for the restore
// drill's checks.
//
// Table and column names follow Bitbucket's schema where it matters for a
// backup (wide text columns, 40-character hashes as keys, big append-mostly
// activity tables); the data is synthetic.
package dbgen
