namespace Studies.Orchestrator.Storage.PostgreSql;

/// <summary>
/// The shared store's schema, versioned in the table <c>studies_schema</c>. Each migration takes the schema from version
/// i to i+1 inside one transaction (PostgreSQL's DDL is transactional); add new ones at the end, never edit old ones.
/// Version 1 is the SQLite store's schema 2 in PostgreSQL's types, so both backends record the same things.
/// </summary>
public static class PostgreSqlSchema
{
    public static readonly string[] Migrations =
    [
        // 1: studies, trials (owned by heartbeat lease), per-epoch and per-mass metrics, phase timings, artifacts, attempts,
        // and the cluster jobs submitted for a study (what `studies cancel` cancels).
        """
        CREATE TABLE studies (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            source_path TEXT,
            definition TEXT NOT NULL,
            definition_hash TEXT NOT NULL,
            data_hash TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            cancelled BOOLEAN NOT NULL DEFAULT FALSE
        );
        CREATE TABLE trials (
            study_id BIGINT NOT NULL REFERENCES studies(id),
            trial_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            spec TEXT NOT NULL,
            axes TEXT NOT NULL,
            in_definition BOOLEAN NOT NULL DEFAULT TRUE,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before DOUBLE PRECISION NOT NULL DEFAULT 0,
            owner TEXT,
            device TEXT,
            heartbeat_at DOUBLE PRECISION,
            phase INTEGER,
            epoch INTEGER,
            started_at DOUBLE PRECISION,
            finished_at DOUBLE PRECISION,
            seconds DOUBLE PRECISION,
            error TEXT,
            error_kind TEXT,
            best_epoch INTEGER,
            last_epoch INTEGER,
            provenance TEXT,
            lease_until DOUBLE PRECISION,
            retries_from INTEGER NOT NULL DEFAULT 0,
            placement TEXT,
            PRIMARY KEY (study_id, trial_id)
        );
        CREATE INDEX trials_by_state ON trials(study_id, state, ordinal);
        CREATE TABLE epochs (
            study_id BIGINT NOT NULL,
            trial_id TEXT NOT NULL,
            phase INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            metric TEXT NOT NULL,
            value DOUBLE PRECISION,
            PRIMARY KEY (study_id, trial_id, phase, epoch, metric)
        );
        CREATE TABLE mass_metrics (
            study_id BIGINT NOT NULL,
            trial_id TEXT NOT NULL,
            mass DOUBLE PRECISION NOT NULL,
            heldout BOOLEAN NOT NULL,
            split TEXT NOT NULL,
            epoch_kind TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            metric TEXT NOT NULL,
            value DOUBLE PRECISION,
            PRIMARY KEY (study_id, trial_id, mass, split, epoch_kind, metric)
        );
        CREATE TABLE phases (
            study_id BIGINT NOT NULL,
            trial_id TEXT NOT NULL,
            phase INTEGER NOT NULL,
            loss TEXT NOT NULL,
            epochs INTEGER NOT NULL,
            seconds DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (study_id, trial_id, phase)
        );
        CREATE TABLE artifacts (
            study_id BIGINT NOT NULL,
            trial_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            PRIMARY KEY (study_id, trial_id, kind)
        );
        CREATE TABLE attempts (
            study_id BIGINT NOT NULL,
            trial_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            owner TEXT NOT NULL,
            device TEXT,
            placement TEXT,
            started_at DOUBLE PRECISION NOT NULL,
            ended_at DOUBLE PRECISION,
            outcome TEXT,
            PRIMARY KEY (study_id, trial_id, attempt)
        );
        CREATE TABLE jobs (
            study_id BIGINT NOT NULL,
            executor TEXT NOT NULL,
            job_id TEXT NOT NULL,
            submitted_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (study_id, executor, job_id)
        );
        """,
        // 2: a change mark per trial row, so that a poll reads only the rows changed since the last one
        // (IStudyStorage.ListTrialsChangedAsync): the id of the transaction that last changed the row's state, attempts,
        // placement, error or definition. A reader's cursor is the oldest transaction still open when it read
        // (pg_snapshot_xmin), so a change committed late is read next time, never missed. Old rows keep 0 (read by a
        // first poll, cursor 0); adding the column rewrites nothing. Heartbeats (lease, epoch) change no mark.
        """
        ALTER TABLE trials ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE trials ALTER COLUMN changed SET DEFAULT (pg_current_xact_id()::text::bigint);
        CREATE INDEX trials_by_change ON trials(study_id, changed);
        CREATE FUNCTION studies_trial_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.changed := pg_current_xact_id()::text::bigint;
            RETURN NEW;
        END $$;
        CREATE TRIGGER trials_changed BEFORE UPDATE ON trials FOR EACH ROW
            WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.attempts IS DISTINCT FROM NEW.attempts OR OLD.in_definition IS DISTINCT FROM NEW.in_definition
                OR OLD.placement IS DISTINCT FROM NEW.placement OR OLD.error IS DISTINCT FROM NEW.error)
            EXECUTE FUNCTION studies_trial_changed();
        """,
        // 3 (search): the points an adaptive search proposed, each recorded before its trials run (number unique per
        // study), and the proposal a trial belongs to (null: planned by the study file's expansion).
        """
        CREATE TABLE proposals (
            study_id BIGINT NOT NULL,
            number INTEGER NOT NULL,
            point TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (study_id, number)
        );
        ALTER TABLE trials ADD COLUMN proposal INTEGER;
        """,
        // 4 (reports): the score curves of each trial's final evaluation per mass (StoredCurves); additive, older trials have none.
        StoredCurves.CreateTable("DOUBLE PRECISION", "BIGINT") + ";",
        // 5: what `studies status` and the dashboard ask of a study of any size without reading every row: the counts per
        // state (an index-only scan: 26-30 ms instead of a 80-88 ms scan of 100,000 rows), the trials retried
        // (attempts >= 2: the attempts a cluster may have stopped) and those outside the definition (each was a whole scan,
        // ~35 ms; now 0-2 ms). Measured with EXPLAIN ANALYZE on bench cluster --simulate-trials 100000's store. The last
        // index is empty but for trials a changed study file left out.
        """
        CREATE INDEX trials_state_counts ON trials(study_id, in_definition, state);
        CREATE INDEX trials_by_attempts ON trials(study_id, attempts);
        CREATE INDEX trials_outside_definition ON trials(study_id) WHERE NOT in_definition;
        """,
    ];
}
