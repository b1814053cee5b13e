//! Released migrations whose comments were reworded afterwards.
//!
//! sqlx keeps the SHA-384 of each applied migration's text in the ledger and refuses to start
//! when a file's text no longer matches. A comment is part of that text, so rewording one
//! (2026-12-07: the contract is now cited as `docs/contract.md`) would stop every deployment
//! that applied the file. Each such migration keeps the checksum of its text as released,
//! and a test keeps its statements as released: [`Reworded::statements`] is the SHA-384 of
//! the text with comments and whitespace removed, so rewording a comment passes and
//! changing a statement of a released migration fails the build's tests.

use std::borrow::Cow;

use sha2::{Digest, Sha384};
use sqlx::migrate::{Migration, Migrator};

/// Which embedded set a migration belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    Public,
    Tenant,
}

/// A migration whose comments changed after release.
#[derive(Debug)]
pub struct Reworded {
    pub set: Set,
    pub version: i64,
    /// SHA-384 of the text as released (hex): what deployments hold in their ledgers.
    pub released: &'static str,
    /// SHA-384 of the statements (hex): the text without comments and whitespace.
    pub statements: &'static str,
}

/// Every reworded migration.
pub const REWORDED: &[Reworded] = &[
    Reworded {
        set: Set::Public,
        version: 1,
        released: "c8c7b02d2f8c9526f0b52bbfdad4ba17e4877f2e18f6c30b03ca7cc952acb4af4154e05d8c47d89ded672a5550dc7a36",
        statements: "dfe4f268ba9b2083d667d6df74eb06be172482b552a7760c49a80e5ede06a92947ff299244953705d3248d22fa833505",
    },
    Reworded {
        set: Set::Public,
        version: 2,
        released: "b7fb66f3d1ea5d0fea707c8138290ca76adf56c6ae372ba04db6097bff8a9077449fbc3d73b70482d9841e55658a6940",
        statements: "ce4fb183e5aa54d9229d5a1dbfb45f506fd4579bad077005bbac4e3c5bb73cc8c7402f01a258614eb39026d50177b7ba",
    },
    Reworded {
        set: Set::Public,
        version: 3,
        released: "ca45fac9424d8a33130e67d87f87007bde45e078f88e222a4206596c453e378aa6a69b492a19dc5ec189ddec7d2247c1",
        statements: "b27caf88dfcf75255bd22f0b52c2cfd0ee6655d243cb9beb8ca421b46664759a5950ccc022e8bb832e8f81da3515ddec",
    },
    Reworded {
        set: Set::Public,
        version: 5,
        released: "420ccaee5afc2b9f43a6064f4fdaaa699e7164a2d7d7d1609ed6925125d1685d528867f76a4bf3b458cb0a8e8acc3d4c",
        statements: "ad85cca21dd0a43a3adfbe12e5163090546f28e13daf6125cc67e30ad48c3df08211710879fcc27f163dfd51e0e5a7e1",
    },
    Reworded {
        set: Set::Public,
        version: 7,
        released: "d34c9045a7feb67c1cb47e2638a1e3762344fbf09e40bf36b0e081c60ea7dddb5de7e43102d2027df98b3f86e2f44b89",
        statements: "59ed7db077a2b9b40d2e89c92c856c46b3a776c306fbb856953e03b608d864733c0f802b201e58daacded48b18259c99",
    },
    Reworded {
        set: Set::Public,
        version: 8,
        released: "8a8456d079076d2be43f0b2f7de64b5553c1dbaea5d267fac2d43af49fdf4f0702ac7e256cab90ad4ee1bb0bae4f9116",
        statements: "76793443fddcd92228aeb3d9fec7e5c3209d30cd1103c17960ec8765a6378ce39085ed1cf09a7d1eb706e684325eed3d",
    },
    Reworded {
        set: Set::Public,
        version: 9,
        released: "60beb710e2df3105d4e8abfffff7ca231e3cff400fb0486bb46d3be3e5bca804271781b1a5b2082ded77323923e33a63",
        statements: "797046d8925f096f2271c4d312ab96fa71191ba8191c7c60ca44a1149c0cbb756d5db776332afd0370479951053e5385",
    },
    Reworded {
        set: Set::Public,
        version: 10,
        released: "f42250db8b146df1b945ae794b822434547a0ed47effd51a8f07ebb4e6698eff3454e1c423e659d4fefcbcde742d607a",
        statements: "bff8a4eb11a88deb19d5b5ab814d01723c417c24ebc0451dec8672e8980de3166e348dac39927faab2ff799f7908d5f4",
    },
    Reworded {
        set: Set::Tenant,
        version: 1,
        released: "a49d4e383dbf48c3b3ab248931bdc9521ce1a5c8cfe9a76d286e6e8f9c3120389fc0e0605e710f937e42791a17209028",
        statements: "6949d2ca7c0c63907b83594ccfd6561be2435d5dd39f2263d1c3b91415e0cc2aef2f97ea6297e59c418b3d571b1dae33",
    },
    Reworded {
        set: Set::Tenant,
        version: 3,
        released: "cb2275c02c0d8c536dec7205cbd64c73c739d0891563d8837d83478199b438b506713e45fae44373523a04c1450593e8",
        statements: "aa13b380c3eb0d9c89d0a9c5c5c3db5811076ddb6af034f921311f9057c964444f873b28bd02c794f3a4d4b1620d50be",
    },
    Reworded {
        set: Set::Tenant,
        version: 4,
        released: "b0e9989b0013d46ff8d3f721eb4cd7cfa2ca25c108f1c758116650b147bcf5ac3c055a1033b35b3c9f404081b17ef901",
        statements: "376ab85146c0f87d44c27d2b81db1941575953394ee8f4788d94a53698b292ec9e418a736611ee8401f02d964cfbc0e6",
    },
    Reworded {
        set: Set::Tenant,
        version: 5,
        released: "6a9b25798ce30690d0f00b94f9735f83b31fe7fc0423b14b3a5c89ee8459f67a17e438baa261b1ac547ecb1ae690f18f",
        statements: "5193f1b43d0fce1b46ca71fee57b7a969f7efa1817b4e99a33bafa4242bbd8b89538266ee56cadf1ee760d8a51892815",
    },
];

/// `migrator` with each reworded migration of `set` carrying its released checksum.
#[must_use]
pub fn with_released_checksums(mut migrator: Migrator, set: Set) -> Migrator {
    let migrations = migrator.migrations.iter().cloned().map(|migration| released(migration, set)).collect();
    migrator.migrations = Cow::Owned(migrations);
    migrator
}

fn released(mut migration: Migration, set: Set) -> Migration {
    if let Some(reworded) = REWORDED.iter().find(|r| r.set == set && r.version == migration.version) {
        migration.checksum = Cow::Owned(from_hex(reworded.released));
    }
    migration
}

pub(crate) fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("a checksum in this file is hex"))
        .collect()
}

/// SHA-384 (hex) of `sql` without its `--` comments and whitespace: what the statements are.
#[must_use]
pub fn statements_digest(sql: &str) -> String {
    let statements: String = sql
        .lines()
        .map(|line| line.split_once("--").map_or(line, |(code, _comment)| code))
        .flat_map(|code| code.chars().filter(|c| !c.is_whitespace()))
        .collect();
    Sha384::digest(statements.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_statement_changes_the_digest_and_a_changed_comment_does_not() {
        let released = "create table t (a int); -- why\n";
        assert_eq!(statements_digest(released), statements_digest("create table t (a int); -- reworded\n"));
        assert_ne!(statements_digest(released), statements_digest("create table t (a bigint); -- why\n"));
    }
}
