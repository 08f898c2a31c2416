// The live session every part of the app shares: the socket to OS1, hands-free voice on
// top of it, and what the server told us about this device and the companion.

import { Os1Socket } from "./socket.js";
import { Voice } from "./voice.js";

export const socket = new Os1Socket();
export const voice = new Voice(socket);

export const session = {
  device: null,      // {id, name} of this device
  companion: "OS1",  // the companion's name
  user: "",          // the person's name
  model: "",
  presence: "idle",  // idle | listening | thinking | speaking
  connected: false,  // the socket is open and welcomed
};
