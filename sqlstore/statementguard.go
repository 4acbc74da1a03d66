package sqlstore

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
)

// statementGuard is migration 17: triggers that refuse to change or remove
// a row of a closed statement (invariant 8), so that not even a hand-typed
// UPDATE in a database shell alters what the district has paid. The store
// refuses first with a clear error; these are the last word. It is a Go
// migration because trigger syntax differs between the two databases.
func statementGuard(dialect string) *goose.Migration {
	up := []string{
		`CREATE TRIGGER statement_lines_closed_update BEFORE UPDATE ON statement_lines
			WHEN OLD.closed = 1 BEGIN SELECT RAISE(ABORT, 'statement is closed'); END`,
		`CREATE TRIGGER statement_lines_closed_delete BEFORE DELETE ON statement_lines
			WHEN OLD.closed = 1 BEGIN SELECT RAISE(ABORT, 'statement is closed'); END`,
		`CREATE TRIGGER statement_held_closed_update BEFORE UPDATE ON statement_held
			WHEN OLD.closed = 1 BEGIN SELECT RAISE(ABORT, 'statement is closed'); END`,
		`CREATE TRIGGER statement_held_closed_delete BEFORE DELETE ON statement_held
			WHEN OLD.closed = 1 BEGIN SELECT RAISE(ABORT, 'statement is closed'); END`,
		`CREATE TRIGGER statements_closed_update BEFORE UPDATE ON statements
			WHEN OLD.status = 'closed' BEGIN SELECT RAISE(ABORT, 'statement is closed'); END`,
		`CREATE TRIGGER statements_closed_delete BEFORE DELETE ON statements
			WHEN OLD.status = 'closed' BEGIN SELECT RAISE(ABORT, 'statement is closed'); END`,
	}
	down := []string{
		`DROP TRIGGER statement_lines_closed_update`, `DROP TRIGGER statement_lines_closed_delete`,
		`DROP TRIGGER statement_held_closed_update`, `DROP TRIGGER statement_held_closed_delete`,
		`DROP TRIGGER statements_closed_update`, `DROP TRIGGER statements_closed_delete`,
	}
	if dialect == DialectPostgres {
		up = []string{
			`CREATE FUNCTION refuse_closed_statement() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				RAISE EXCEPTION 'statement is closed' USING ERRCODE = 'check_violation';
			END $$`,
			`CREATE TRIGGER statement_lines_closed BEFORE UPDATE OR DELETE ON statement_lines
				FOR EACH ROW WHEN (OLD.closed = 1) EXECUTE FUNCTION refuse_closed_statement()`,
			`CREATE TRIGGER statement_held_closed BEFORE UPDATE OR DELETE ON statement_held
				FOR EACH ROW WHEN (OLD.closed = 1) EXECUTE FUNCTION refuse_closed_statement()`,
			`CREATE TRIGGER statements_closed BEFORE UPDATE OR DELETE ON statements
				FOR EACH ROW WHEN (OLD.status = 'closed') EXECUTE FUNCTION refuse_closed_statement()`,
		}
		down = []string{
			`DROP TRIGGER statements_closed ON statements`, `DROP TRIGGER statement_held_closed ON statement_held`,
			`DROP TRIGGER statement_lines_closed ON statement_lines`, `DROP FUNCTION refuse_closed_statement()`,
		}
	}
	run := func(stmts []string) *goose.GoFunc {
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			for _, q := range stmts {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	return goose.NewGoMigration(17, run(up), run(down))
}
