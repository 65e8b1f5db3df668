package crypto

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/scrypt"
)

// ErrWrongPassword means no key file opens with the given password.
var ErrWrongPassword = errors.New("wrong password: no key in the repository opens with it")

// storedKey is the JSON form of a master key inside a key file.
type storedKey struct {
	Encrypt []byte `json:"encrypt"`
	MAC     []byte `json:"mac"`
}

// KDFParams are the scrypt parameters of a key file.
type KDFParams struct {
	N int `json:"n"`
	R int `json:"r"`
	P int `json:"p"`
}

// DefaultKDF costs about 100 ms and 32 MiB on a current CPU.
var DefaultKDF = KDFParams{N: 1 << 15, R: 8, P: 1}

// KeyFile is the stored form of a master key wrapped by a password.
type KeyFile struct {
	Created  string    `json:"created"`
	Host     string    `json:"host"`
	Username string    `json:"username"`
	KDF      string    `json:"kdf"`
	Params   KDFParams `json:"params"`
	Salt     []byte    `json:"salt"`
	Data     []byte    `json:"data"`
}

// Validate rejects parameters that are unusable or absurdly weak.
func (p KDFParams) Validate() error {
	if p.N < 2 || p.N&(p.N-1) != 0 || p.R < 1 || p.P < 1 {
		return fmt.Errorf("invalid scrypt parameters N=%d r=%d p=%d", p.N, p.R, p.P)
	}
	return nil
}

func deriveKey(password, salt []byte, p KDFParams) (*Key, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	raw, err := scrypt.Key(password, salt, p.N, p.R, p.P, 2*KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	k := &Key{}
	copy(k.Encrypt[:], raw[:KeySize])
	copy(k.MAC[:], raw[KeySize:])
	return k, nil
}

// WrapKey seals the master key under a key derived from password.
func WrapKey(master *Key, password []byte, p KDFParams, kf KeyFile) (KeyFile, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return kf, fmt.Errorf("generate salt: %w", err)
	}
	wrapping, err := deriveKey(password, salt, p)
	if err != nil {
		return kf, err
	}
	plain, err := json.Marshal(storedKey{Encrypt: master.Encrypt[:], MAC: master.MAC[:]})
	if err != nil {
		return kf, fmt.Errorf("encode master key: %w", err)
	}
	kf.KDF, kf.Params, kf.Salt = "scrypt", p, salt
	kf.Data, err = wrapping.Seal(nil, plain, []byte("bbvault key"))
	return kf, err
}

// UnwrapKey recovers the master key; the wrong password is ErrWrongPassword.
func UnwrapKey(kf KeyFile, password []byte) (*Key, error) {
	if kf.KDF != "scrypt" {
		return nil, fmt.Errorf("key file uses unknown KDF %q", kf.KDF)
	}
	wrapping, err := deriveKey(password, kf.Salt, kf.Params)
	if err != nil {
		return nil, err
	}
	plain, err := wrapping.Open(nil, kf.Data, []byte("bbvault key"))
	if err != nil {
		return nil, ErrWrongPassword
	}
	var sk storedKey
	if err := json.Unmarshal(plain, &sk); err != nil {
		return nil, fmt.Errorf("decode master key: %w", err)
	}
	if len(sk.Encrypt) != KeySize || len(sk.MAC) != KeySize {
		return nil, errors.New("decode master key: wrong key length")
	}
	master := &Key{}
	copy(master.Encrypt[:], sk.Encrypt)
	copy(master.MAC[:], sk.MAC)
	return master, nil
}
