package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ListAdapters implements Store, ordered by name.
func (s *SQLite) ListAdapters(ctx context.Context) ([]Adapter, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, document, updated_at FROM adapters ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list adapters: %w", err)
	}
	defer rows.Close()
	var out []Adapter
	for rows.Next() {
		var a Adapter
		var updated string
		if err := rows.Scan(&a.Name, &a.Document, &updated); err != nil {
			return nil, fmt.Errorf("list adapters: %w", err)
		}
		if a.UpdatedAt, err = parseSQLiteTime(updated); err != nil {
			return nil, fmt.Errorf("list adapters: adapter %s: %w", a.Name, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list adapters: %w", err)
	}
	return out, nil
}

// PutAdapter implements Store. a.UpdatedAt is ignored: the store stamps it.
func (s *SQLite) PutAdapter(ctx context.Context, a Adapter) (created bool, err error) {
	if err := validateAdapter(a); err != nil {
		return false, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM adapters WHERE name = ?`, a.Name).Scan(&one)
		if created = errors.Is(err, sql.ErrNoRows); err != nil && !created {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO adapters (name, document, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
			a.Name, a.Document, now().Format(sqliteTime))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("put adapter %s: %w", a.Name, err)
	}
	return created, nil
}

// DeleteAdapter implements Store.
func (s *SQLite) DeleteAdapter(ctx context.Context, name string) error {
	if err := ValidateAdapterName(name); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return deleteRow(ctx, tx, `DELETE FROM adapters WHERE name = ?`, "adapter", name)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete adapter %s: %w", name, err)
	}
	return err
}

// SetSecret implements Store.
func (s *SQLite) SetSecret(ctx context.Context, name string, value []byte) (meta SecretMeta, created bool, err error) {
	if err := validateSecret(name, value); err != nil {
		return SecretMeta{}, false, err
	}
	sealed, err := s.box.Seal(name, value)
	if err != nil {
		return SecretMeta{}, false, fmt.Errorf("set secret %s: %w", name, err)
	}
	meta = SecretMeta{Name: name, Size: len(value), UpdatedAt: now()}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var createdAt string
		err := tx.QueryRowContext(ctx, `SELECT created_at FROM secrets WHERE name = ?`, name).Scan(&createdAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created, meta.CreatedAt = true, meta.UpdatedAt
		case err != nil:
			return err
		default:
			if meta.CreatedAt, err = parseSQLiteTime(createdAt); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, sealed, size, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, size = excluded.size, updated_at = excluded.updated_at`,
			name, sealed, meta.Size, meta.CreatedAt.Format(sqliteTime), meta.UpdatedAt.Format(sqliteTime))
		return err
	})
	if err != nil {
		return SecretMeta{}, false, fmt.Errorf("set secret %s: %w", name, err)
	}
	return meta, created, nil
}

// ListSecrets implements Store, ordered by name.
func (s *SQLite) ListSecrets(ctx context.Context) ([]SecretMeta, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, size, created_at, updated_at FROM secrets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	var out []SecretMeta
	for rows.Next() {
		var m SecretMeta
		var createdAt, updatedAt string
		if err := rows.Scan(&m.Name, &m.Size, &createdAt, &updatedAt); err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		c, err1 := parseSQLiteTime(createdAt)
		u, err2 := parseSQLiteTime(updatedAt)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("list secrets: secret %s: %w", m.Name, err)
		}
		m.CreatedAt, m.UpdatedAt = c, u
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return out, nil
}

// GetSecret implements Store.
func (s *SQLite) GetSecret(ctx context.Context, name string) ([]byte, error) {
	if err := ValidateSecretName(name); err != nil {
		return nil, err
	}
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT sealed FROM secrets WHERE name = ?`, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("secret", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	return s.box.Open(name, sealed)
}

// DeleteSecret implements Store.
func (s *SQLite) DeleteSecret(ctx context.Context, name string) error {
	if err := ValidateSecretName(name); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return deleteRow(ctx, tx, `DELETE FROM secrets WHERE name = ?`, "secret", name)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return err
}

func deleteRow(ctx context.Context, tx *sql.Tx, query, kind, name string) error {
	res, err := tx.ExecContext(ctx, query, name)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(kind, name)
	}
	return nil
}
