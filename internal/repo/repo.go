package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/chunk"
	"bbvault/internal/crypto"
	"bbvault/internal/index"
)

// Repository is an open repository: backend, keys, config and index cache.
type Repository struct {
	be      backend.Backend
	cfg     Config
	key     *crypto.Key
	codec   *codec
	idx     *index.DB
	log     *slog.Logger
	keyID   string
	trees   *treePacks
	cache   string // directory of the index cache
	dmg     damageState
	skipMu  sync.Mutex
	skipped map[string]error // index objects the last sync left out
	Loader  LoaderOptions
}

// InitOptions tune a new repository.
type InitOptions struct {
	PackSize    int              // bytes; 0 means DefaultPackSize
	Compression string           // auto (default), max or off
	KDF         crypto.KDFParams // zero means crypto.DefaultKDF
}

// OpenOptions say where the cache lives and how to log.
type OpenOptions struct {
	CacheDir string // directory for the SQLite index cache; "" means a temporary cache
	Logger   *slog.Logger
	// Command names what this process does ("check --read-data",
	// "restore"), noted in the damage records its reads leave.
	Command string
}

// Init creates a repository on be: config and the first key file. It refuses
// a location that already holds a config.
func Init(ctx context.Context, be backend.Backend, password []byte, opts InitOptions) (Config, error) {
	if _, err := be.Stat(ctx, configName); err == nil {
		return Config{}, fmt.Errorf("%s: %w", be.Location(), ErrExists)
	} else if !backend.IsNotFound(err) {
		return Config{}, fmt.Errorf("check %s: %w", be.Location(), err)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return Config{}, err
	}
	master, err := crypto.NewRandomKey()
	if err != nil {
		return Config{}, err
	}
	kdf := opts.KDF
	if kdf == (crypto.KDFParams{}) {
		kdf = crypto.DefaultKDF
	}
	if err := writeKey(ctx, be, master, password, kdf); err != nil {
		return Config{}, err
	}
	r := &Repository{be: be, key: master}
	if r.codec, err = newCodec(master, cfg.Compression); err != nil {
		return Config{}, err
	}
	defer r.codec.close()
	stored, err := r.SealJSON("config", cfg)
	if err != nil {
		return Config{}, err
	}
	return cfg, putBytes(ctx, be, configName, stored)
}

func newConfig(opts InitOptions) (Config, error) {
	pol, err := chunk.RandomPol()
	if err != nil {
		return Config{}, err
	}
	id, err := randomID()
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Version: FormatVersion, ID: id.String(), ChunkerPol: pol,
		PackSize: opts.PackSize, Compression: opts.Compression}
	if cfg.PackSize == 0 {
		cfg.PackSize = DefaultPackSize
	}
	if cfg.Compression == "" {
		cfg.Compression = "auto"
	}
	return cfg, cfg.Validate()
}

func writeKey(ctx context.Context, be backend.Backend, master *crypto.Key, password []byte, kdf crypto.KDFParams) error {
	host, _ := os.Hostname()
	kf := crypto.KeyFile{Created: time.Now().UTC().Format(time.RFC3339), Host: host}
	if u, err := user.Current(); err == nil {
		kf.Username = u.Username
	}
	kf, err := crypto.WrapKey(master, password, kdf, kf)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode key file: %w", err)
	}
	id, err := randomID()
	if err != nil {
		return err
	}
	return putBytes(ctx, be, keysPrefix+id.String(), b)
}

// Open opens the repository on be with password, and brings the index cache
// in line with the repository's index objects.
func Open(ctx context.Context, be backend.Backend, password []byte, opts OpenOptions) (*Repository, error) {
	r := &Repository{be: be, log: opts.Logger, Loader: DefaultLoaderOptions(), trees: newTreePacks()}
	r.dmg.command = opts.Command
	if r.dmg.command == "" {
		r.dmg.command = "bbvault"
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if err := r.checkConfigExists(ctx); err != nil {
		return nil, err
	}
	if err := r.unlockKey(ctx, password); err != nil {
		return nil, err
	}
	if err := r.loadConfig(ctx); err != nil {
		return nil, err
	}
	if err := r.openCache(ctx, opts.CacheDir); err != nil {
		r.codec.close()
		return nil, err
	}
	if err := r.SyncIndex(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Repository) checkConfigExists(ctx context.Context) error {
	_, err := r.be.Stat(ctx, configName)
	if backend.IsNotFound(err) {
		return fmt.Errorf("%s: %w", r.be.Location(), ErrNotInitialized)
	}
	if err != nil {
		return fmt.Errorf("open repository at %s: %w", r.be.Location(), err)
	}
	return nil
}

// unlockKey tries every key file with the password.
func (r *Repository) unlockKey(ctx context.Context, password []byte) error {
	var names []string
	err := r.be.List(ctx, keysPrefix, func(oi backend.ObjectInfo) error {
		names = append(names, oi.Name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	if len(names) == 0 {
		return fmt.Errorf("%s has a config but no key files: the repository is damaged", r.be.Location())
	}
	for _, name := range names {
		key, err := r.tryKey(ctx, name, password)
		if errors.Is(err, crypto.ErrWrongPassword) {
			continue
		}
		if err != nil {
			return err
		}
		r.key, r.keyID = key, name
		return nil
	}
	return crypto.ErrWrongPassword
}

func (r *Repository) tryKey(ctx context.Context, name string, password []byte) (*crypto.Key, error) {
	b, err := readAll(ctx, r.be, name)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", name, err)
	}
	var kf crypto.KeyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("key file %s is corrupt: %w", name, err)
	}
	return crypto.UnwrapKey(kf, password)
}

func (r *Repository) loadConfig(ctx context.Context) error {
	var err error
	if r.codec, err = newCodec(r.key, "auto"); err != nil {
		return err
	}
	if err := r.loadJSON(ctx, configName, "config", &r.cfg); err != nil {
		return err
	}
	if err := r.cfg.Validate(); err != nil {
		return fmt.Errorf("config of %s: %w", r.be.Location(), err)
	}
	r.codec.close()
	r.codec, err = newCodec(r.key, r.cfg.Compression)
	return err
}

func (r *Repository) openCache(ctx context.Context, dir string) error {
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "bbvault-cache-"); err != nil {
			return fmt.Errorf("temporary cache: %w", err)
		}
	}
	r.cache = dir
	path := filepath.Join(dir, r.cfg.ID, "index.sqlite")
	idx, err := index.Open(ctx, path, r.cfg.ID, index.Options{Logger: r.log})
	if err != nil {
		return fmt.Errorf("open index cache %s: %w", path, err)
	}
	r.idx = idx
	return nil
}

// Config returns the repository's configuration.
func (r *Repository) Config() Config { return r.cfg }

// Backend returns the underlying backend.
func (r *Repository) Backend() backend.Backend { return r.be }

// CacheInfo describes the local index cache.
type CacheInfo struct {
	Path string // the SQLite file
	index.Stats
}

// RebuildCache throws the local index cache away and reads every index
// object of the repository again.
func (r *Repository) RebuildCache(ctx context.Context) (CacheInfo, error) {
	path := r.idx.Path()
	if err := r.idx.Close(); err != nil {
		return CacheInfo{}, fmt.Errorf("close the index cache: %w", err)
	}
	r.idx = nil
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return CacheInfo{}, fmt.Errorf("remove the index cache: %w", err)
		}
	}
	if err := r.openCache(ctx, r.cache); err != nil {
		return CacheInfo{}, err
	}
	if err := r.SyncIndex(ctx); err != nil {
		return CacheInfo{}, err
	}
	st, err := r.idx.Stats(ctx)
	if err != nil {
		return CacheInfo{}, fmt.Errorf("index cache: %w", err)
	}
	return CacheInfo{Path: path, Stats: st}, nil
}

// Close releases the cache and codec; the backend stays open.
func (r *Repository) Close() error {
	r.codec.close()
	if r.idx != nil {
		return r.idx.Close()
	}
	return nil
}
