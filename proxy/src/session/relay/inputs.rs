//! Everything a session reads — the client, each link, the rare controls — polled only when it
//! woke the session (see [`super::wakeups`]).

use std::task::{Context, Poll, Waker};

use futures_util::StreamExt;
use meridian_wire::{ConnError, FrameError, RawFrame, conn::FrameReader};

use super::{
    control::{Control, Controls},
    wakeups::{LAST_SOURCE, Source, Wakeups},
};
use crate::entities::LinkId;

const CONTROLS: Source = 0;
const CLIENT: Source = 1;
/// The first link slot's source; slot `i` is `FIRST_LINK + i`.
const FIRST_LINK: Source = 2;

/// What woke the session.
#[derive(Debug)]
pub(super) enum Input {
    Control(Control),
    /// A frame from the client; [`ConnError::Closed`] once it has gone.
    Client(Result<RawFrame, ConnError>),
    /// A frame from a link; [`FrameError::Closed`] once its backend has gone (after which the
    /// link is no longer read).
    Link(LinkId, Result<RawFrame, FrameError>),
}

struct LinkReader {
    id: LinkId,
    reader: FrameReader,
    waker: Waker,
}

pub(super) struct Inputs {
    wakeups: Wakeups,
    controls: Controls,
    controls_waker: Waker,
    client: FrameReader,
    client_waker: Waker,
    /// A link's slot is its source; freed slots are reused.
    links: Vec<Option<LinkReader>>,
}

impl Inputs {
    pub(super) fn new(controls: Controls, client: FrameReader) -> Self {
        let wakeups = Wakeups::new();
        Self {
            controls_waker: wakeups.waker(CONTROLS),
            client_waker: wakeups.waker(CLIENT),
            wakeups,
            controls,
            client,
            links: Vec::new(),
        }
    }

    /// The client's reader, e.g. to drain it while closing.
    pub(super) fn client_mut(&mut self) -> &mut FrameReader {
        &mut self.client
    }

    /// Whether the client sent anything since the last call (`FrameReader::take_heard`).
    pub(super) fn client_heard(&mut self) -> bool {
        self.client.take_heard()
    }

    /// Whether `link` sent anything since the last call; `false` once it is no longer read.
    pub(super) fn link_heard(&mut self, link: LinkId) -> bool {
        self.slot_of(link)
            .and_then(|slot| self.links[slot].as_mut())
            .is_some_and(|l| l.reader.take_heard())
    }

    /// Starts reading a link.
    pub(super) fn add_link(&mut self, id: LinkId, reader: FrameReader) {
        let slot = match self.links.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.links.push(None);
                self.links.len() - 1
            }
        };
        let source = Self::source_of(slot);
        self.links[slot] = Some(LinkReader {
            id,
            reader,
            waker: self.wakeups.waker(source),
        });
        self.wakeups.raise(source);
    }

    /// Stops reading a link and drops its reader.
    pub(super) fn remove_link(&mut self, id: LinkId) {
        if let Some(slot) = self.slot_of(id) {
            self.links[slot] = None;
        }
        while self.links.last().is_some_and(Option::is_none) {
            self.links.pop();
        }
    }

    /// A link slot's source (slots past the last source share it).
    fn source_of(slot: usize) -> Source {
        FIRST_LINK.saturating_add(Source::try_from(slot).unwrap_or(Source::MAX))
    }

    fn slot_of(&self, id: LinkId) -> Option<usize> {
        self.links
            .iter()
            .position(|l| l.as_ref().is_some_and(|l| l.id == id))
    }

    /// The next input from the sources that woke the session.
    pub(super) fn poll_next(&mut self, cx: &Context<'_>) -> Poll<Input> {
        while let Some(source) = self.wakeups.next(cx) {
            let input = match source {
                CONTROLS => self.poll_controls(),
                CLIENT => self.client_now().map(Input::Client),
                _ => self.poll_links_of(source),
            };
            if let Some(input) = input {
                // The source may have more: it stays due.
                return Poll::Ready(input);
            }
        }
        Poll::Pending
    }

    fn poll_controls(&mut self) -> Option<Input> {
        match self
            .controls
            .poll_next(&mut Context::from_waker(&self.controls_waker))
        {
            Poll::Ready(control) => Some(Input::Control(control)),
            Poll::Pending => {
                self.wakeups.settled(CONTROLS);
                None
            }
        }
    }

    /// Polls the links behind `source`: one, or all past the last source.
    fn poll_links_of(&mut self, source: Source) -> Option<Input> {
        let first = (source - FIRST_LINK) as usize;
        let last = if source == LAST_SOURCE {
            self.links.len()
        } else {
            first + 1
        };
        for slot in first..last.min(self.links.len()) {
            if let Some(id) = self.links[slot].as_ref().map(|l| l.id)
                && let Some(frame) = self.poll_slot(slot)
            {
                return Some(Input::Link(id, frame));
            }
        }
        self.wakeups.settled(source);
        None
    }

    /// The client's next frame if one is ready now; else its waker is registered.
    pub(super) fn client_now(&mut self) -> Option<Result<RawFrame, ConnError>> {
        match self
            .client
            .poll_next_unpin(&mut Context::from_waker(&self.client_waker))
        {
            Poll::Ready(Some(frame)) => Some(frame.map_err(ConnError::from)),
            Poll::Ready(None) => Some(Err(ConnError::Closed)),
            Poll::Pending => {
                self.wakeups.settled(CLIENT);
                None
            }
        }
    }

    /// `link`'s next frame if one is ready now; else its waker is registered.
    pub(super) fn link_now(&mut self, link: LinkId) -> Option<Result<RawFrame, FrameError>> {
        let slot = self.slot_of(link)?;
        let frame = self.poll_slot(slot);
        // A shared source stays due: the links behind it may still hold frames.
        let source = Self::source_of(slot);
        if frame.is_none() && source < LAST_SOURCE {
            self.wakeups.settled(source);
        }
        frame
    }

    fn poll_slot(&mut self, slot: usize) -> Option<Result<RawFrame, FrameError>> {
        let link = self.links[slot].as_mut()?;
        match link
            .reader
            .poll_next_unpin(&mut Context::from_waker(&link.waker))
        {
            Poll::Ready(Some(frame)) => Some(frame),
            Poll::Ready(None) => {
                // Said once; the session closes the link.
                self.links[slot] = None;
                Some(Err(FrameError::Closed))
            }
            Poll::Pending => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use bytes::BytesMut;
    use futures_util::SinkExt;
    use meridian_wire::{
        conn::FrameWriter,
        frame::{FrameCodec, RawFrame},
    };
    use tokio::{
        net::{TcpListener, TcpStream},
        sync::{mpsc, watch},
    };
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::zones::ZoneView;

    /// A connected pair: our reader and the peer's writer.
    async fn pipe() -> (FrameReader, FrameWriter) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap());
        let (peer, ours) = tokio::join!(peer, listener.accept());
        let (ours_rx, _ours_tx) = ours.unwrap().0.into_split();
        let (_peer_rx, peer_tx) = peer.unwrap().into_split();
        (
            FrameReader::new(ours_rx, FrameCodec::new()),
            FrameWriter::new(peer_tx, FrameCodec::new()),
        )
    }

    struct Fixture {
        inputs: Inputs,
        client: FrameWriter,
        shutdown: CancellationToken,
        _commands: mpsc::Sender<crate::state::SessionCommand>,
        _zones: watch::Sender<Arc<ZoneView>>,
    }

    async fn fixture() -> Fixture {
        let (client_rx, client) = pipe().await;
        let (controls, shutdown, commands_tx, zones_tx) =
            super::super::control::tests::sources(Duration::from_secs(3600));
        Fixture {
            inputs: Inputs::new(controls, client_rx),
            client,
            shutdown,
            _commands: commands_tx,
            _zones: zones_tx,
        }
    }

    fn frame(payload: u8) -> RawFrame {
        RawFrame::plain(BytesMut::from(&[0x01, payload][..])).unwrap()
    }

    async fn next(inputs: &mut Inputs) -> Input {
        tokio::time::timeout(
            Duration::from_secs(5),
            std::future::poll_fn(|cx| inputs.poll_next(cx)),
        )
        .await
        .expect("an input")
    }

    fn payload(frame: &RawFrame) -> u8 {
        frame.head_fields()[0]
    }

    #[tokio::test]
    async fn frames_from_the_client_and_each_link_arrive_tagged_with_their_source() {
        let mut f = fixture().await;
        let (west_rx, mut west) = pipe().await;
        let (east_rx, mut east) = pipe().await;
        f.inputs.add_link(LinkId(0), west_rx);
        f.inputs.add_link(LinkId(1), east_rx);
        assert!(
            futures_util::poll!(std::future::poll_fn(|cx| f.inputs.poll_next(cx))).is_pending()
        );

        east.send(frame(7)).await.unwrap();
        match next(&mut f.inputs).await {
            Input::Link(LinkId(1), Ok(frame)) => assert_eq!(payload(&frame), 7),
            other => panic!("expected east's frame, got {other:?}"),
        }
        f.client.send(frame(1)).await.unwrap();
        match next(&mut f.inputs).await {
            Input::Client(Ok(frame)) => assert_eq!(payload(&frame), 1),
            other => panic!("expected the client's frame, got {other:?}"),
        }
        west.send(frame(3)).await.unwrap();
        match next(&mut f.inputs).await {
            Input::Link(LinkId(0), Ok(frame)) => assert_eq!(payload(&frame), 3),
            other => panic!("expected west's frame, got {other:?}"),
        }
        // Drained, nothing else is due: each drain left the source's waker registered.
        assert!(f.inputs.client_now().is_none());
        assert!(f.inputs.link_now(LinkId(0)).is_none());
        assert!(f.inputs.link_now(LinkId(1)).is_none());

        f.shutdown.cancel();
        assert!(matches!(
            next(&mut f.inputs).await,
            Input::Control(Control::Shutdown)
        ));
    }

    /// A batch drained with `link_now` ends pending, and the link's next frame still wakes us.
    #[tokio::test]
    async fn a_drained_link_wakes_the_session_again() {
        let mut f = fixture().await;
        let (west_rx, mut west) = pipe().await;
        f.inputs.add_link(LinkId(0), west_rx);
        for round in 0..3u8 {
            west.feed(frame(round)).await.unwrap();
            west.feed(frame(round + 100)).await.unwrap();
            SinkExt::<RawFrame>::flush(&mut west).await.unwrap();
            let Input::Link(LinkId(0), Ok(first)) = next(&mut f.inputs).await else {
                panic!("expected west's frame");
            };
            assert_eq!(payload(&first), round);
            // The second may still be on its way: then it wakes us.
            let second = match f.inputs.link_now(LinkId(0)) {
                Some(frame) => frame.unwrap(),
                None => match next(&mut f.inputs).await {
                    Input::Link(LinkId(0), frame) => frame.unwrap(),
                    other => panic!("expected west's frame, got {other:?}"),
                },
            };
            assert_eq!(payload(&second), round + 100);
            assert!(f.inputs.link_now(LinkId(0)).is_none());
        }
    }

    #[tokio::test]
    async fn a_link_that_closes_says_so_once_and_a_removed_one_is_not_read() {
        let mut f = fixture().await;
        let (west_rx, west) = pipe().await;
        let (east_rx, mut east) = pipe().await;
        f.inputs.add_link(LinkId(0), west_rx);
        f.inputs.add_link(LinkId(1), east_rx);
        drop(west);
        assert!(matches!(
            next(&mut f.inputs).await,
            Input::Link(LinkId(0), Err(FrameError::Closed))
        ));
        assert!(f.inputs.link_now(LinkId(0)).is_none());

        f.inputs.remove_link(LinkId(1));
        east.send(frame(9)).await.unwrap();
        f.client.send(frame(2)).await.unwrap();
        assert!(matches!(next(&mut f.inputs).await, Input::Client(Ok(_))));
        // A new link takes a freed slot and is read from the start.
        let (north_rx, mut north) = pipe().await;
        f.inputs.add_link(LinkId(2), north_rx);
        north.send(frame(4)).await.unwrap();
        match next(&mut f.inputs).await {
            Input::Link(LinkId(2), Ok(frame)) => assert_eq!(payload(&frame), 4),
            other => panic!("expected north's frame, got {other:?}"),
        }
        drop(f.client);
        assert!(matches!(
            next(&mut f.inputs).await,
            Input::Client(Err(ConnError::Closed))
        ));
    }

    /// More links than sources: the ones past the last share it and are all read.
    #[tokio::test]
    async fn links_past_the_last_source_are_all_read() {
        let mut f = fixture().await;
        let mut writers = Vec::new();
        for id in 0..70u16 {
            let (rx, tx) = pipe().await;
            f.inputs.add_link(LinkId(id), rx);
            writers.push(tx);
        }
        for (id, writer) in writers.iter_mut().enumerate().rev() {
            writer.send(frame(id as u8)).await.unwrap();
            match next(&mut f.inputs).await {
                Input::Link(LinkId(got), Ok(frame)) => {
                    assert_eq!(got as usize, id);
                    assert_eq!(payload(&frame), id as u8);
                }
                other => panic!("expected link {id}'s frame, got {other:?}"),
            }
        }
    }
}
