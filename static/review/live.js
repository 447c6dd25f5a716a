// Live signals: the server says "queue X changed"; pages re-fetch through their own views.
// A dropped socket reconnects with backoff; pages also refresh on a timer meanwhile.
(function () {
  let delay = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/queues/`);
    socket.onopen = () => { delay = 1000; document.body.dataset.live = "on"; };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.event === "queueChanged") {
        htmx.trigger(document.body, "queueChanged", { queue: data.queue });
      }
    };
    socket.onclose = () => {
      document.body.dataset.live = "off";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
