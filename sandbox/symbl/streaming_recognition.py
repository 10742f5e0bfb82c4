"""Live recognition: which words of the call's transcript the received audio covers, and when they are final.

The call's transcript arrives in the audio itself (``sandbox.speech_carrier``). A word is heard when the 20 ms
frame holding its end arrives; a result is final once the audio of a sentence's (or a turn's) end has arrived
(or at ``stop_request``), with the words heard; finals never overlap in audio time, and the conversation's
utterances are rebuilt from them. Interim hypotheses belong to one connection: a dropped socket takes
them with it (the next connection starts a fresh recognition stream), while finals belong to the conversation.

Times reported to the client (``recognition_result`` words) are seconds of audio received on *that
connection*, the only clock a client can map back to what it sent; the conversation's own timeline (messages,
the Conversation API) is media time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.intelligence.segmentation import split_sentences
from sandbox.speech_carrier import FRAME_MS, CarrierDecoder, DataFrame, TimecodeFrame, assemble_transcript
from sandbox.transcript import Transcript, Utterance


@dataclass(frozen=True)
class TimedWord:
    text: str
    start: float  # media seconds
    end: float


def timed_words(utterance: Utterance) -> list[TimedWord]:
    """Words spread evenly over the utterance: the sandbox's stand-in for word timings."""
    words = utterance.text.split()
    step = (utterance.end - utterance.start) / max(1, len(words))
    return [
        TimedWord(w, round(utterance.start + i * step, 3), round(utterance.start + (i + 1) * step, 3))
        for i, w in enumerate(words)
    ]


def _bucket(seconds: float) -> int:
    # The frame holding an instant that ends a span: a word ending at exactly 1.000 s is in [0.98, 1.00).
    return max(0, (round(seconds * 1000) - 1) // FRAME_MS)


class CallTranscript:
    """The call's transcript indexed by 20 ms frame: which word ends in which frame."""

    def __init__(self, transcript: Transcript) -> None:
        self.utterances = transcript.utterances
        self.words = [timed_words(u) for u in self.utterances]
        self.end_bucket = [_bucket(u.end) for u in self.utterances]
        # Word indices that end a sentence (the Conversation API's own sentence split): a recogniser makes a
        # result final at the end of a sentence, not only at the end of a speaker's turn.
        self.sentence_ends: list[frozenset[int]] = []
        for u in self.utterances:
            ends, count = set(), 0
            for sentence in split_sentences(u.text):
                count += len(sentence.split())
                ends.add(count - 1)
            self.sentence_ends.append(frozenset(ends))
        self.word_ends: dict[int, list[tuple[int, int]]] = {}
        for u, words in enumerate(self.words):
            for w, word in enumerate(words):
                self.word_ends.setdefault(_bucket(word.end), []).append((u, w))


@dataclass
class HeardWord:
    word: TimedWord
    connection_end: float  # seconds of this connection's audio at the word's end


@dataclass
class Hypothesis:
    """An utterance being heard on one connection (interim until final)."""

    index: int
    heard: dict[int, HeardWord] = field(default_factory=dict)

    def words(self) -> list[HeardWord]:
        return [self.heard[w] for w in sorted(self.heard)]


@dataclass(frozen=True)
class Interim:
    hypothesis: Hypothesis


@dataclass(frozen=True)
class Final:
    hypothesis: Hypothesis
    utterance: Utterance  # this segment as heard, on the media timeline

    @property
    def index(self) -> int:
        return self.hypothesis.index

    @property
    def word_indices(self) -> tuple[int, ...]:
        return tuple(sorted(self.hypothesis.heard))


RecognitionEvent = Interim | Final


class Preamble:
    """The transcript chunks a conversation has received (kept across connections)."""

    def __init__(self) -> None:
        self.chunks: dict[int, bytes] = {}
        self.total = 0
        self.transcript: CallTranscript | None = None

    def add(self, frame: DataFrame) -> bool:
        """True when this chunk completed the transcript."""
        if self.transcript is not None:
            return False
        self.chunks[frame.index] = frame.chunk
        self.total = frame.total
        transcript = assemble_transcript(self.chunks, self.total)
        if transcript is None:
            return False
        self.transcript = CallTranscript(transcript)
        return True


class RecognitionStream:
    """One connection's recognition: decodes its audio and turns frames into interim and final results."""

    def __init__(self, preamble: Preamble, encoding: str, sample_rate: int) -> None:
        self.preamble = preamble
        self.encoding = encoding
        self.sample_rate = sample_rate
        self.decoder = CarrierDecoder(encoding)
        self.open: dict[int, Hypothesis] = {}
        self.waiting: list[TimecodeFrame] = []  # frames heard before the transcript was complete
        self.garbled_frames = 0
        self._time_base = 0.0  # connection seconds before the last modify_request

    def audio_seconds(self) -> float:
        return self._time_base + self.decoder.samples / self.sample_rate

    def reconfigure(self, encoding: str, sample_rate: int) -> None:
        """``modify_request``: later audio is read at the new encoding/rate (a frame split across the change
        is lost, as it would be for a real recogniser)."""
        self._time_base = self.audio_seconds()
        self.encoding, self.sample_rate = encoding, sample_rate
        self.decoder = CarrierDecoder(encoding)

    def push(self, audio: bytes) -> list[RecognitionEvent]:
        events: list[RecognitionEvent] = []
        for frame in self.decoder.push(audio):
            if isinstance(frame, DataFrame):
                if self.preamble.add(frame):
                    waiting, self.waiting = self.waiting, []
                    for early in waiting:
                        events += self._hear(early)
            elif frame.sample_rate != self.sample_rate:
                self.garbled_frames += 1  # audio at another rate than declared: noise to the recogniser
            elif self.preamble.transcript is None:
                self.waiting.append(frame)
            else:
                events += self._hear(frame)
        return events

    def _hear(self, frame: TimecodeFrame) -> list[RecognitionEvent]:
        call = self.preamble.transcript
        assert call is not None
        bucket = frame.media_ms // FRAME_MS
        touched: list[Hypothesis] = []
        for u, w in call.word_ends.get(bucket, ()):
            word = call.words[u][w]
            offset = (word.end * 1000 - frame.media_ms) / 1000
            hypothesis = self.open.setdefault(u, Hypothesis(u))
            at = self._time_base + frame.sample_index / self.sample_rate + offset
            hypothesis.heard[w] = HeardWord(word, at)
            if hypothesis not in touched:
                touched.append(hypothesis)
        events: list[RecognitionEvent] = []
        sentence_ended = any(w in call.sentence_ends[u] for u, w in call.word_ends.get(bucket, ()))
        if sentence_ended or any(call.end_bucket[u] <= bucket for u in self.open):
            # A final result covers the audio up to here (a sentence or a turn ended), like a real recogniser's:
            # what else was heard so far
            # (speech overlapping the utterance that ended) is final too, as a segment of its own utterance,
            # which goes on in a new segment. So finals never overlap in audio time, and "everything after the
            # last final" is a clean point for a client to re-send from.
            events += [self._finalise(u) for u in sorted(self.open)]
        events += [Interim(h) for h in touched if h.index in self.open]
        return events

    def _finalise(self, u: int) -> Final:
        call = self.preamble.transcript
        assert call is not None
        hypothesis = self.open.pop(u)
        source = call.utterances[u]
        words = hypothesis.words()
        if len(words) == len(call.words[u]):
            heard = source  # every word arrived: exactly what was said
        else:
            heard = Utterance(
                speaker=source.speaker,
                text=" ".join(h.word.text for h in words),
                start=words[0].word.start,
                end=words[-1].word.end,
            )
        return Final(hypothesis, heard)

    def finish(self) -> list[RecognitionEvent]:
        """``stop_request``: everything still being heard becomes final with the words heard."""
        return [self._finalise(u) for u in sorted(self.open)]


def recognise_recording(data: bytes) -> Transcript | None:
    """What the recogniser hears in a WAV recording of a live call (carrier audio): the Async API's view of
    the same audio the stream carried. None when the WAV holds no carrier audio."""
    from sandbox.speech_carrier import wav_audio

    audio = wav_audio(data)
    if audio is None:
        return None
    encoding, rate, samples = audio
    preamble = Preamble()
    stream = RecognitionStream(preamble, encoding, rate)
    events = stream.push(samples) + stream.finish()
    if preamble.transcript is None:
        return None
    segments = [(e.index, e.word_indices) for e in events if isinstance(e, Final)]
    heard = heard_utterances(preamble.transcript, segments)
    return Transcript(tuple(heard)) if heard else None


def heard_utterances(call: CallTranscript, segments: list[tuple[int, tuple[int, ...]]]) -> list[Utterance]:
    """The conversation's utterances from its final segments: an utterance cut by overlapping speech is whole
    again; one heard twice (re-sent audio) is there twice; words never heard are missing."""
    runs: dict[int, list[list[int]]] = {}
    for u, words in segments:
        passes = runs.setdefault(u, [])
        if passes and words and words[0] > passes[-1][-1]:
            passes[-1].extend(words)  # the same hearing, continued after a cut
        elif words:
            passes.append(list(words))  # first hearing, or the same words heard again
    out: list[Utterance] = []
    for u, passes in runs.items():
        source, words = call.utterances[u], call.words[u]
        for run in passes:
            if run == list(range(len(words))):
                out.append(source)
            else:
                out.append(
                    Utterance(
                        speaker=source.speaker,
                        text=" ".join(words[w].text for w in run),
                        start=words[run[0]].start,
                        end=words[run[-1]].end,
                    )
                )
    return sorted(out, key=lambda x: (x.start, x.end))
