package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// In the upserts below, xmax = 0 tells an inserted row from an updated one
// (an update sets xmax to the updating transaction), so created is exact
// even when replicas race to create the same name.

// ListAdapters implements Store, ordered by name.
func (p *Postgres) ListAdapters(ctx context.Context) ([]Adapter, error) {
	rows, _ := p.pool.Query(ctx, `SELECT name, document, updated_at FROM adapters ORDER BY name`)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Adapter, error) {
		var a Adapter
		err := row.Scan(&a.Name, &a.Document, &a.UpdatedAt)
		a.UpdatedAt = a.UpdatedAt.UTC()
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list adapters: %w", err)
	}
	return out, nil
}

// PutAdapter implements Store. a.UpdatedAt is ignored: the store stamps it.
func (p *Postgres) PutAdapter(ctx context.Context, a Adapter) (created bool, err error) {
	if err := validateAdapter(a); err != nil {
		return false, err
	}
	err = p.write(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO adapters (name, document, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET document = EXCLUDED.document, updated_at = EXCLUDED.updated_at
			RETURNING xmax = 0`, a.Name, a.Document, now()).Scan(&created)
	})
	if err != nil {
		return false, fmt.Errorf("put adapter %s: %w", a.Name, err)
	}
	return created, nil
}

// DeleteAdapter implements Store.
func (p *Postgres) DeleteAdapter(ctx context.Context, name string) error {
	if err := ValidateAdapterName(name); err != nil {
		return err
	}
	err := p.write(ctx, func(tx pgx.Tx) error {
		return pgDeleteRow(ctx, tx, `DELETE FROM adapters WHERE name = $1`, "adapter", name)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete adapter %s: %w", name, err)
	}
	return err
}

// SetSecret implements Store.
func (p *Postgres) SetSecret(ctx context.Context, name string, value []byte) (meta SecretMeta, created bool, err error) {
	if err := validateSecret(name, value); err != nil {
		return SecretMeta{}, false, err
	}
	sealed, err := p.box.Seal(name, value)
	if err != nil {
		return SecretMeta{}, false, fmt.Errorf("set secret %s: %w", name, err)
	}
	meta = SecretMeta{Name: name, Size: len(value), UpdatedAt: now()}
	err = p.write(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO secrets (name, sealed, size, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (name) DO UPDATE SET sealed = EXCLUDED.sealed, size = EXCLUDED.size, updated_at = EXCLUDED.updated_at
			RETURNING created_at, xmax = 0`, name, sealed, meta.Size, meta.UpdatedAt).Scan(&meta.CreatedAt, &created)
	})
	if err != nil {
		return SecretMeta{}, false, fmt.Errorf("set secret %s: %w", name, err)
	}
	meta.CreatedAt = meta.CreatedAt.UTC()
	return meta, created, nil
}

// ListSecrets implements Store, ordered by name.
func (p *Postgres) ListSecrets(ctx context.Context) ([]SecretMeta, error) {
	rows, _ := p.pool.Query(ctx, `SELECT name, size, created_at, updated_at FROM secrets ORDER BY name`)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SecretMeta, error) {
		var m SecretMeta
		err := row.Scan(&m.Name, &m.Size, &m.CreatedAt, &m.UpdatedAt)
		m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return out, nil
}

// GetSecret implements Store.
func (p *Postgres) GetSecret(ctx context.Context, name string) ([]byte, error) {
	if err := ValidateSecretName(name); err != nil {
		return nil, err
	}
	var sealed []byte
	err := p.pool.QueryRow(ctx, `SELECT sealed FROM secrets WHERE name = $1`, name).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("secret", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	return p.box.Open(name, sealed)
}

// DeleteSecret implements Store.
func (p *Postgres) DeleteSecret(ctx context.Context, name string) error {
	if err := ValidateSecretName(name); err != nil {
		return err
	}
	err := p.write(ctx, func(tx pgx.Tx) error {
		return pgDeleteRow(ctx, tx, `DELETE FROM secrets WHERE name = $1`, "secret", name)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return err
}

func pgDeleteRow(ctx context.Context, tx pgx.Tx, query, kind, name string) error {
	tag, err := tx.Exec(ctx, query, name)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound(kind, name)
	}
	return nil
}
