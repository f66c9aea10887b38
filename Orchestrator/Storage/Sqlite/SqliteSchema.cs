namespace Studies.Orchestrator.Storage.Sqlite;

/// <summary>
/// The store's schema, versioned with SQLite's <c>user_version</c>. Each migration takes the
/// database from version i to i+1 inside one transaction; add new ones at the end, never edit old ones.
/// </summary>
public static class SqliteSchema
{
    public static readonly string[] Migrations =
    [
        // 1: studies, trials, per-epoch and per-mass metrics, phase timings, artifacts.
        """
        CREATE TABLE studies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            source_path TEXT,
            definition TEXT NOT NULL,
            definition_hash TEXT NOT NULL,
            data_hash TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            cancelled INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE trials (
            study_id INTEGER NOT NULL REFERENCES studies(id),
            trial_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            spec TEXT NOT NULL,
            axes TEXT NOT NULL,
            in_definition INTEGER NOT NULL DEFAULT 1,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before REAL NOT NULL DEFAULT 0,
            owner TEXT,
            device TEXT,
            heartbeat_at REAL,
            phase INTEGER,
            epoch INTEGER,
            started_at REAL,
            finished_at REAL,
            seconds REAL,
            error TEXT,
            error_kind TEXT,
            best_epoch INTEGER,
            last_epoch INTEGER,
            provenance TEXT,
            PRIMARY KEY (study_id, trial_id)
        );
        CREATE INDEX trials_by_state ON trials(study_id, state, ordinal);
        CREATE TABLE epochs (
            study_id INTEGER NOT NULL,
            trial_id TEXT NOT NULL,
            phase INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            metric TEXT NOT NULL,
            value REAL,
            PRIMARY KEY (study_id, trial_id, phase, epoch, metric)
        ) WITHOUT ROWID;
        CREATE TABLE mass_metrics (
            study_id INTEGER NOT NULL,
            trial_id TEXT NOT NULL,
            mass REAL NOT NULL,
            heldout INTEGER NOT NULL,
            split TEXT NOT NULL,
            epoch_kind TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            metric TEXT NOT NULL,
            value REAL,
            PRIMARY KEY (study_id, trial_id, mass, split, epoch_kind, metric)
        ) WITHOUT ROWID;
        CREATE TABLE phases (
            study_id INTEGER NOT NULL,
            trial_id TEXT NOT NULL,
            phase INTEGER NOT NULL,
            loss TEXT NOT NULL,
            epochs INTEGER NOT NULL,
            seconds REAL NOT NULL,
            PRIMARY KEY (study_id, trial_id, phase)
        ) WITHOUT ROWID;
        CREATE TABLE artifacts (
            study_id INTEGER NOT NULL,
            trial_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            PRIMARY KEY (study_id, trial_id, kind)
        ) WITHOUT ROWID;
        """,
        // 2: ownership by heartbeat lease instead of process ids; one row per attempt (who ran it,
        // where, how it ended); the retry budget restarts from the attempt a trial was queued by hand.
        // A trial found running by this migration gets a minute's lease from its last heartbeat.
        """
        ALTER TABLE trials ADD COLUMN lease_until REAL;
        ALTER TABLE trials ADD COLUMN retries_from INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE trials ADD COLUMN placement TEXT;
        UPDATE trials SET lease_until = COALESCE(heartbeat_at, 0) + 60 WHERE state = 'running';
        CREATE TABLE attempts (
            study_id INTEGER NOT NULL,
            trial_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            owner TEXT NOT NULL,
            device TEXT,
            placement TEXT,
            started_at REAL NOT NULL,
            ended_at REAL,
            outcome TEXT,
            PRIMARY KEY (study_id, trial_id, attempt)
        ) WITHOUT ROWID;
        """,
        // 3: the cluster jobs submitted for a study (what `studies cancel` cancels).
        """
        CREATE TABLE jobs (
            study_id INTEGER NOT NULL,
            executor TEXT NOT NULL,
            job_id TEXT NOT NULL,
            submitted_at REAL NOT NULL,
            PRIMARY KEY (study_id, executor, job_id)
        ) WITHOUT ROWID;
        """,
        // 4 (cluster): a change number per trial row, so that a poll reads only the rows changed since the last one
        // (IStudyStorage.ListTrialsChangedAsync). Per study it only grows: SQLite has one writer, so numbers commit in
        // order. Old rows keep 0 and are read by a first poll (cursor 0); heartbeats (lease, epoch) change no number.
        """
        ALTER TABLE trials ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX trials_by_change ON trials(study_id, changed);
        CREATE TRIGGER trials_changed_on_insert AFTER INSERT ON trials BEGIN
            UPDATE trials SET changed = (SELECT COALESCE(MAX(changed), 0) + 1 FROM trials WHERE study_id = NEW.study_id)
            WHERE study_id = NEW.study_id AND trial_id = NEW.trial_id;
        END;
        CREATE TRIGGER trials_changed_on_update AFTER UPDATE OF state, attempts, in_definition, placement, error ON trials BEGIN
            UPDATE trials SET changed = (SELECT COALESCE(MAX(changed), 0) + 1 FROM trials WHERE study_id = NEW.study_id)
            WHERE study_id = NEW.study_id AND trial_id = NEW.trial_id;
        END;
        """,
        // 5 (search): the points an adaptive search proposed, each recorded before its trials run (number unique per
        // study), and the proposal a trial belongs to (null: planned by the study file's expansion).
        """
        CREATE TABLE proposals (
            study_id INTEGER NOT NULL,
            number INTEGER NOT NULL,
            point TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (study_id, number)
        ) WITHOUT ROWID;
        ALTER TABLE trials ADD COLUMN proposal INTEGER;
        """,
        // 6 (reports): the score curves of each trial's final evaluation per mass (StoredCurves); additive, older trials have none.
        StoredCurves.CreateTable("REAL", "INTEGER") + " WITHOUT ROWID;",
    ];
}
