//! Running the SQLite sqllogictest corpus (filled in with the conformance work).
