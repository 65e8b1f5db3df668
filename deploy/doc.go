// Package deploy holds the files that run bbvault in production: systemd
// units and timers (systemd/), a Kubernetes CronJob with its ConfigMap,
// Secret and state volume (kubernetes/), Prometheus alert rules
// (prometheus/) and an example config file (bbvault.yaml). Its tests check
// that they parse, that the config files load with bbvault's own config
// package, and that they hold what the README says they do.
package deploy
