// One JeroMQ socket driven over stdin/stdout, for zmtp's interop tests.
//
// Usage: java -cp jeromq.jar:. JeromqPeer TYPE bind|connect ENDPOINT [IDENTITY_HEX]
//
// TYPE is a socket type name (PAIR, PUB, SUB, REQ, REP, DEALER, ROUTER, PULL, PUSH).
// "bind" with a port of "*" binds to a free port. The first line printed is
// "endpoint <endpoint>" (the real one, after bind) or "ready" (after connect).
//
// Then one command per input line, each answered with one output line:
//   send F1 F2 ...   send a message of these frames   -> "sent"
//   recv MS          receive one message, waiting MS  -> "msg F1 F2 ..." or "timeout"
//   sub F / unsub F  (un)subscribe a SUB socket        -> "ok"
//   poke             let the socket process its commands -> "ok" (a bound socket
//                    attaches a new connection, and sends it the subscriptions it
//                    holds, only when the application touches it)
//   quit             close everything and exit          -> "bye"
// A frame is written in lower-case hex, "-" for an empty frame. Anything unexpected
// is answered "error <text>" on one line.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.zeromq.ZMQ;

public final class JeromqPeer {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private JeromqPeer() {}

    static String toHex(byte[] data) {
        if (data.length == 0) {
            return "-";
        }
        StringBuilder out = new StringBuilder(data.length * 2);
        for (byte b : data) {
            out.append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
        }
        return out.toString();
    }

    static byte[] fromHex(String text) {
        if (text.equals("-")) {
            return new byte[0];
        }
        byte[] out = new byte[text.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    static int socketType(String name) {
        switch (name) {
            case "PAIR": return ZMQ.PAIR;
            case "PUB": return ZMQ.PUB;
            case "SUB": return ZMQ.SUB;
            case "REQ": return ZMQ.REQ;
            case "REP": return ZMQ.REP;
            case "DEALER": return ZMQ.DEALER;
            case "ROUTER": return ZMQ.ROUTER;
            case "PULL": return ZMQ.PULL;
            case "PUSH": return ZMQ.PUSH;
            default: throw new IllegalArgumentException("unknown socket type " + name);
        }
    }

    static String receive(ZMQ.Socket socket, int timeoutMs) {
        socket.setReceiveTimeOut(timeoutMs);
        byte[] first = socket.recv(0);
        if (first == null) {
            return "timeout";
        }
        List<String> frames = new ArrayList<>();
        frames.add(toHex(first));
        socket.setReceiveTimeOut(-1); // the rest of a message is already here
        while (socket.hasReceiveMore()) {
            frames.add(toHex(socket.recv(0)));
        }
        return "msg " + String.join(" ", frames);
    }

    static void send(ZMQ.Socket socket, String[] words) {
        for (int i = 1; i < words.length; i++) {
            boolean more = i < words.length - 1;
            socket.send(fromHex(words[i]), more ? ZMQ.SNDMORE : 0);
        }
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, "US-ASCII");
        ZMQ.Context context = ZMQ.context(1);
        ZMQ.Socket socket = context.socket(socketType(args[0]));
        socket.setLinger(1000);
        if (args.length > 3) {
            socket.setIdentity(fromHex(args[3]));
        }
        if (args[1].equals("bind")) {
            String endpoint = args[2];
            if (endpoint.endsWith(":*")) {
                String host = endpoint.substring(0, endpoint.length() - 2);
                int port = socket.bindToRandomPort(host);
                endpoint = host + ":" + port;
            } else {
                socket.bind(endpoint);
            }
            out.println("endpoint " + endpoint);
        } else {
            socket.connect(args[2]);
            out.println("ready");
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "US-ASCII"));
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.trim().split(" ");
            try {
                switch (words[0]) {
                    case "send":
                        send(socket, words);
                        out.println("sent");
                        break;
                    case "recv":
                        out.println(receive(socket, Integer.parseInt(words[1])));
                        break;
                    case "sub":
                        socket.subscribe(fromHex(words[1]));
                        out.println("ok");
                        break;
                    case "unsub":
                        socket.unsubscribe(fromHex(words[1]));
                        out.println("ok");
                        break;
                    case "poke":
                        socket.getEvents();
                        out.println("ok");
                        break;
                    case "quit":
                        socket.close();
                        context.term();
                        out.println("bye");
                        return;
                    default:
                        out.println("error unknown command " + words[0]);
                }
            } catch (RuntimeException exc) {
                out.println("error " + exc.toString().replace('\n', ' '));
            }
        }
        socket.close();
        context.term();
    }
}
