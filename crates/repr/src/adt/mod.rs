//! Abstract data types: the values behind `Datum` variants that need more than a number.

pub mod datetime;
pub mod jsonb;
pub mod numeric;
