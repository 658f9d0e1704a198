//! A MediaWiki Action API client for publishing and monitoring gadget and user-script pages.
#![warn(missing_docs)]
