//! Integration tests, one binary: stores, the dispatcher over 127.0.0.1:0, guards.

mod analyze;
mod deploy;
mod dispatcher;
mod docs;
mod faults;
mod flags;
mod fuzz;
mod jobs;
mod lambda_events;
mod legacy_import;
mod live;
mod prune;
mod reliability;
mod s3;
mod shot_search;
mod shot_tracer;
mod store;
mod video_formats;
