//! The opt-in `Weir-Report: true` response body (`ingest-api.md` §6.3).

use std::fmt::Write;

use weir_spec::write_json_string;

/// Per-request outcome counts, in batch order.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) accepted: usize,
    /// `(index, messageId, error)`.
    pub(crate) rejected: Vec<(usize, Option<String>, String)>,
    /// `(index, messageId)`.
    pub(crate) duplicates: Vec<(usize, String)>,
}

impl Report {
    pub(crate) fn to_json(&self) -> String {
        let mut out =
            String::with_capacity(64 + 96 * (self.rejected.len() + self.duplicates.len()));
        let _ = write!(out, "{{\"accepted\":{},\"rejected\":[", self.accepted);
        for (i, (index, message_id, error)) in self.rejected.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{{\"index\":{index},\"messageId\":");
            match message_id {
                Some(id) => write_json_string(&mut out, id),
                None => out.push_str("null"),
            }
            out.push_str(",\"error\":");
            write_json_string(&mut out, error);
            out.push('}');
        }
        out.push_str("],\"duplicates\":[");
        for (i, (index, message_id)) in self.duplicates.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{{\"index\":{index},\"messageId\":");
            write_json_string(&mut out, message_id);
            out.push('}');
        }
        out.push_str("]}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_shape() {
        let report = Report {
            accepted: 1,
            rejected: vec![(
                1,
                Some("m-2".into()),
                "property 'event' is required for a track event".into(),
            )],
            duplicates: vec![(2, "m-1".into())],
        };
        assert_eq!(
            report.to_json(),
            "{\"accepted\":1,\"rejected\":[{\"index\":1,\"messageId\":\"m-2\",\"error\":\"property 'event' is required for a track event\"}],\"duplicates\":[{\"index\":2,\"messageId\":\"m-1\"}]}\n"
        );
        assert_eq!(
            Report::default().to_json(),
            "{\"accepted\":0,\"rejected\":[],\"duplicates\":[]}\n"
        );
    }
}
