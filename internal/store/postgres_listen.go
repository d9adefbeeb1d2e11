package store

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
)

// The LISTEN connection idles for long periods: tight TCP keepalives make a
// vanished server or a silently dropped connection (a NAT or a load
// balancer's idle timeout) surface as an error within about 25 s, so the
// listener reconnects instead of waiting forever.
const (
	listenKeepIdle     = 10 * time.Second
	listenKeepInterval = 5 * time.Second
	listenKeepCount    = 3
	reconnectMin       = 100 * time.Millisecond
	reconnectMax       = 5 * time.Second
)

func listenerConfig(base *pgx.ConnConfig) *pgx.ConnConfig {
	cfg := base.Copy()
	d := &net.Dialer{
		Timeout: 10 * time.Second,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: listenKeepIdle, Interval: listenKeepInterval, Count: listenKeepCount,
		},
	}
	cfg.DialFunc = d.DialContext
	return cfg
}

func (p *Postgres) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, p.listenCfg)
	if err != nil {
		return nil, fmt.Errorf("connect the LISTEN connection: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("LISTEN %s: %w", changesChannel, err)
	}
	p.listenPID.Store(conn.PgConn().PID())
	return conn, nil
}

// listen fires Changes for each notification and, when the connection
// drops, reconnects with backoff, LISTENs again and fires once.
func (p *Postgres) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(p.listenEnded)
	for {
		err := p.waitLoop(ctx, conn)
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		conn.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("PostgreSQL LISTEN connection lost; reconnecting", "server", p.where(), "error", err)
		if conn = p.reconnect(ctx); conn == nil {
			return
		}
		p.log.Info("PostgreSQL LISTEN connection restored", "server", p.where())
		p.changes.fire()
	}
}

func (p *Postgres) waitLoop(ctx context.Context, conn *pgx.Conn) error {
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		p.changes.fire()
	}
}

// reconnect retries until it has a listening connection, or returns nil
// when ctx ends.
func (p *Postgres) reconnect(ctx context.Context) *pgx.Conn {
	backoff := reconnectMin
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		conn, err := p.connectListener(ctx)
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		p.log.Warn("PostgreSQL LISTEN reconnect failed", "server", p.where(), "error", err, "retry_in", min(2*backoff, reconnectMax))
		backoff = min(2*backoff, reconnectMax)
	}
}
