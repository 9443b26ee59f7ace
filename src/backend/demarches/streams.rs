//! A pull's pages of changed dossiers, merged across the agent's groups.
//! DS pages each group's dossiers by (update time, number) from a fixed
//! `updatedSince`, with opaque cursors. The sync engine wants one stream,
//! oldest change first, so that its watermark never passes a change not yet
//! read: each group's stream is buffered, and only what is older than every
//! unfinished stream's last read change is handed over.

use std::collections::VecDeque;

use crate::domain::{Case, Timestamp};

/// Where a change sits in the merged order.
pub type Key = (Option<Timestamp>, i64);

/// The dossier number of a case (from its `DS-` number).
pub fn number_of(case: &Case) -> i64 {
    case.number
        .strip_prefix(super::ids::NUMBER_PREFIX)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn key(case: &Case) -> Key {
    (case.updated, number_of(case))
}

/// One group's stream.
#[derive(Debug)]
pub struct Stream {
    pub group: i64,
    /// The last non-null cursor: where the next page starts.
    pub after: Option<String>,
    pub buffer: VecDeque<Case>,
    /// The key of the last dossier read from this stream.
    pub read_up_to: Option<Key>,
    pub done: bool,
}

/// The streams of one pull, from a fixed `updatedSince`.
#[derive(Debug)]
pub struct Streams {
    pub since: Option<Timestamp>,
    pub streams: Vec<Stream>,
    /// The (update time, case id) of the last case handed over: a call
    /// that continues from it goes on; any other starts afresh.
    pub handed_up_to: Option<(Option<Timestamp>, String)>,
}

impl Streams {
    pub fn new(since: Option<Timestamp>, groups: &[i64]) -> Streams {
        Streams {
            since,
            streams: groups
                .iter()
                .map(|&group| Stream {
                    group,
                    after: None,
                    buffer: VecDeque::new(),
                    read_up_to: None,
                    done: false,
                })
                .collect(),
            handed_up_to: None,
        }
    }

    /// The streams that must read a page before anything can be handed over.
    pub fn to_fill(&self) -> Vec<usize> {
        (0..self.streams.len())
            .filter(|&i| !self.streams[i].done && self.streams[i].buffer.is_empty())
            .collect()
    }

    /// Adds a page read from stream `i`.
    pub fn add_page(
        &mut self,
        i: usize,
        cases: Vec<Case>,
        last: Option<Key>,
        next: Option<String>,
        more: bool,
    ) {
        let stream = &mut self.streams[i];
        if last.is_some() {
            stream.read_up_to = last;
        }
        if next.is_some() {
            stream.after = next;
        }
        // A page with nothing in it cannot move the stream on: finished.
        stream.done = !more || last.is_none();
        stream.buffer.extend(cases);
    }

    /// Hands over, oldest first, at most `limit` cases that are older than
    /// (or as old as) every unfinished stream's last read change. Says
    /// whether more remain.
    pub fn hand_over(&mut self, limit: usize) -> (Vec<Case>, bool) {
        let horizon = self
            .streams
            .iter()
            .filter(|s| !s.done)
            .filter_map(|s| s.read_up_to)
            .min();
        let mut out = Vec::new();
        while out.len() < limit.max(1) {
            let next = self
                .streams
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.buffer.front().map(|c| (key(c), i)))
                .min();
            let Some((k, i)) = next else { break };
            if horizon.is_some_and(|h| k > h) {
                break;
            }
            if let Some(case) = self.streams[i].buffer.pop_front() {
                out.push(case);
            }
        }
        if let Some(last) = out.last() {
            self.handed_up_to = Some((last.updated, last.id.clone()));
        }
        let more = self.streams.iter().any(|s| !s.done || !s.buffer.is_empty());
        (out, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(number: i64, minute: u32) -> Case {
        Case {
            id: format!("D{number}"),
            number: super::super::ids::case_number(number),
            updated: Some(Timestamp::parse(&format!("2026-11-29 10:{minute:02}:00")).unwrap()),
            ..Case::default()
        }
    }

    fn last(cases: &[Case]) -> Option<Key> {
        cases.last().map(key)
    }

    #[test]
    fn two_groups_merge_oldest_first_and_nothing_passes_an_unread_change() {
        let mut streams = Streams::new(None, &[1, 2]);
        assert_eq!(streams.to_fill(), vec![0, 1]);
        // Group 1 has read up to 10:05, group 2 up to 10:03, both with more.
        let one = vec![case(1, 1), case(2, 5)];
        let two = vec![case(3, 2), case(4, 3)];
        let (l1, l2) = (last(&one), last(&two));
        streams.add_page(0, one, l1, Some("c1".into()), true);
        streams.add_page(1, two, l2, Some("c2".into()), true);
        let (out, more) = streams.hand_over(100);
        let numbers: Vec<_> = out.iter().map(number_of).collect();
        // 10:05 waits: group 2 may still hold a change at 10:04.
        assert_eq!(numbers, vec![1, 3, 4]);
        assert!(more);
        assert_eq!(streams.to_fill(), vec![1]);
        let rest = vec![case(5, 4)];
        let l = last(&rest);
        streams.add_page(1, rest, l, None, false);
        let (out, more) = streams.hand_over(100);
        let numbers: Vec<_> = out.iter().map(number_of).collect();
        // Group 1 has read up to 10:05 itself: what it holds is safe.
        assert_eq!(numbers, vec![5, 2]);
        assert!(more, "group 1 has more pages");
        assert_eq!(streams.to_fill(), vec![0]);
        let later = vec![case(6, 9)];
        let l = last(&later);
        streams.add_page(0, later, l, None, false);
        let (out, more) = streams.hand_over(100);
        assert_eq!(out.iter().map(number_of).collect::<Vec<_>>(), vec![6]);
        assert!(!more);
        assert_eq!(
            streams.handed_up_to,
            Some((case(6, 9).updated, "D6".into()))
        );
    }

    #[test]
    fn a_limit_is_respected_and_what_is_left_comes_next() {
        let mut streams = Streams::new(None, &[1]);
        let page: Vec<Case> = (1..=5).map(|n| case(n, n as u32)).collect();
        let l = last(&page);
        streams.add_page(0, page, l, None, false);
        let (out, more) = streams.hand_over(2);
        assert_eq!(out.len(), 2);
        assert!(more);
        assert!(
            streams.to_fill().is_empty(),
            "finished streams read nothing more"
        );
        let (out, more) = streams.hand_over(10);
        assert_eq!(out.len(), 3);
        assert!(!more);
    }
}
