//! `Text`: a string column that decodes on both engines. MariaDB marks `utf8mb4_bin` columns
//! (our case-sensitive paths, titles and SHAs) with the BINARY flag, which sqlx 0.8 refuses to
//! decode as `String`; the bytes are UTF-8 all the same, because the column charset is utf8mb4.

use std::ops::Deref;

use sqlx::error::BoxDynError;
use sqlx::mysql::{MySql, MySqlTypeInfo, MySqlValueRef};
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Type};

/// A decoded text column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub(crate) String);

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Type<MySql> for Text {
    fn type_info() -> MySqlTypeInfo {
        <String as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        <String as Type<MySql>>::compatible(ty) || <Vec<u8> as Type<MySql>>::compatible(ty)
    }
}

impl<'r> Decode<'r, MySql> for Text {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        let bytes = <&[u8] as Decode<'r, MySql>>::decode(value)?;
        Ok(Self(String::from_utf8(bytes.to_vec())?))
    }
}

impl Type<Sqlite> for Text {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for Text {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        <String as Decode<'r, Sqlite>>::decode(value).map(Self)
    }
}

/// Unwrap decoded text into plain strings.
pub(crate) trait Plain {
    /// The plain type.
    type Out;
    /// Unwrap.
    fn plain(self) -> Self::Out;
}

impl Plain for Text {
    type Out = String;

    fn plain(self) -> String {
        self.0
    }
}

impl Plain for Option<Text> {
    type Out = Option<String>;

    fn plain(self) -> Option<String> {
        self.map(|text| text.0)
    }
}
