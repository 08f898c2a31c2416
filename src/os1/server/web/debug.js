// What the end-to-end tests read (window.os1Debug): counters kept by socket.js and voice.js.

export const debug = (window.os1Debug ||= {
  audioFramesReceived: 0,
  audioBytesReceived: 0,
  micFramesSent: 0,
  connected: false,
});
