// Package lockflow tests the bbvault binary's promise never to leave
// Bitbucket locked: signals during the locked pass, SIGKILL followed by
// `bbvault unlock`, against the stand-in server.
package lockflow
