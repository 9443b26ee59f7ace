//! The endpoint's tables, beside the Table API's in the same SQLite file.
//! Every instant is stored as microseconds since the epoch (UTC), so that
//! `(updated_at, number)` orders dossiers stably even when several change
//! within one second; dates shown to clients are Paris time (`dates`).

/// Created with the server's other tables (`schema::migrate`), and by
/// upgrades of older files; every statement may run again.
pub const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS ds_demarche (
  number INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'publiee'
    CHECK (state IN ('brouillon', 'publiee', 'close', 'depubliee')),
  -- 'sva' or 'svr' when silence is a decision; NULL otherwise.
  sva_svr TEXT CHECK (sva_svr IN ('sva', 'svr'))
);

CREATE TABLE IF NOT EXISTS ds_groupe (
  number INTEGER PRIMARY KEY,
  demarche INTEGER NOT NULL REFERENCES ds_demarche(number),
  label TEXT NOT NULL,
  closed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ds_groupe_demarche ON ds_groupe(demarche, number);

CREATE TABLE IF NOT EXISTS ds_instructeur (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS ds_groupe_instructeur (
  groupe INTEGER NOT NULL,
  instructeur INTEGER NOT NULL,
  PRIMARY KEY (groupe, instructeur)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ds_groupe_instructeur_member
  ON ds_groupe_instructeur(instructeur, groupe);

CREATE TABLE IF NOT EXISTS ds_dossier (
  number INTEGER PRIMARY KEY,
  demarche INTEGER NOT NULL,
  groupe INTEGER NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('en_construction', 'en_instruction', 'accepte', 'refuse', 'sans_suite')),
  archived INTEGER NOT NULL DEFAULT 0,
  depose_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  en_instruction_at INTEGER,
  processed_at INTEGER,
  -- The SVA/SVR decision day, YYYY-MM-DD.
  sva_svr_on TEXT,
  motivation TEXT,
  usager_id INTEGER NOT NULL,
  usager_email TEXT NOT NULL,
  -- 'physique': civilite, nom, prenom, email; 'morale': the company columns.
  demandeur TEXT NOT NULL CHECK (demandeur IN ('physique', 'morale')),
  civilite TEXT,
  nom TEXT,
  prenom TEXT,
  email TEXT,
  siret TEXT,
  siren TEXT,
  raison_sociale TEXT,
  libelle_naf TEXT,
  address_label TEXT,
  street_address TEXT,
  postal_code TEXT,
  city_name TEXT
);
-- Listings by démarche or group, incremental (updated_at) or full (depose_at).
CREATE INDEX IF NOT EXISTS ds_dossier_demarche_updated ON ds_dossier(demarche, updated_at, number);
CREATE INDEX IF NOT EXISTS ds_dossier_demarche_depose ON ds_dossier(demarche, depose_at, number);
CREATE INDEX IF NOT EXISTS ds_dossier_groupe_updated ON ds_dossier(groupe, updated_at, number);
CREATE INDEX IF NOT EXISTS ds_dossier_groupe_depose ON ds_dossier(groupe, depose_at, number);

-- Fields of a démarche's form (private: the instructeurs' annotations).
CREATE TABLE IF NOT EXISTS ds_champ_descriptor (
  stable_id INTEGER PRIMARY KEY,
  demarche INTEGER NOT NULL,
  private INTEGER NOT NULL,
  position INTEGER NOT NULL,
  label TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('text', 'textarea'))
);
CREATE INDEX IF NOT EXISTS ds_champ_descriptor_demarche
  ON ds_champ_descriptor(demarche, private, position);

CREATE TABLE IF NOT EXISTS ds_champ (
  dossier INTEGER NOT NULL,
  stable_id INTEGER NOT NULL,
  value TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (dossier, stable_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ds_message (
  id INTEGER PRIMARY KEY,
  dossier INTEGER NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  email TEXT NOT NULL,
  correction_reason TEXT CHECK (correction_reason IN ('incomplete', 'incorrect', 'outdated')),
  correction_resolved_at INTEGER
);
CREATE INDEX IF NOT EXISTS ds_message_dossier ON ds_message(dossier, created_at, id);

CREATE TABLE IF NOT EXISTS ds_traitement (
  id INTEGER PRIMARY KEY,
  dossier INTEGER NOT NULL,
  state TEXT NOT NULL,
  event TEXT NOT NULL,
  processed_at INTEGER NOT NULL,
  email_agent TEXT,
  motivation TEXT
);
CREATE INDEX IF NOT EXISTS ds_traitement_dossier ON ds_traitement(dossier, processed_at, id);

CREATE TABLE IF NOT EXISTS ds_follow (
  dossier INTEGER NOT NULL,
  instructeur INTEGER NOT NULL,
  PRIMARY KEY (dossier, instructeur)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ds_follow_instructeur ON ds_follow(instructeur, dossier);

CREATE TABLE IF NOT EXISTS ds_label (
  id INTEGER PRIMARY KEY,
  demarche INTEGER NOT NULL,
  name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ds_dossier_label (
  dossier INTEGER NOT NULL,
  label INTEGER NOT NULL,
  PRIMARY KEY (dossier, label)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ds_deleted_dossier (
  id INTEGER PRIMARY KEY,
  number INTEGER NOT NULL,
  demarche INTEGER NOT NULL,
  groupe INTEGER NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  deleted_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ds_deleted_demarche ON ds_deleted_dossier(demarche, deleted_at, id);
CREATE INDEX IF NOT EXISTS ds_deleted_groupe ON ds_deleted_dossier(groupe, deleted_at, id);

-- API tokens, stored as SHA-256 digests. all_demarches = 1: every démarche
-- of the file; otherwise those listed in ds_token_demarche.
CREATE TABLE IF NOT EXISTS ds_token (
  digest TEXT PRIMARY KEY,
  all_demarches INTEGER NOT NULL,
  read_only INTEGER NOT NULL,
  -- Epoch seconds; NULL: never expires.
  expires_at INTEGER,
  -- Demo tokens are accepted only while the server runs with --demo.
  demo INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ds_token_demarche (
  digest TEXT NOT NULL,
  demarche INTEGER NOT NULL,
  PRIMARY KEY (digest, demarche)
) WITHOUT ROWID;
"#;
