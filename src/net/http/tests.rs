use super::*;

#[test]
fn chunked_split_anywhere() {
    let body = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for split in 0..body.len() {
        let (a, b) = body.split_at(split);
        let mut c = Chunk::Size {
            value: 0,
            digits: 0,
            ext: false,
        };
        let mut rest: &[u8] = &[];
        let mut done = false;
        for part in [a, b] {
            if done {
                rest = part;
                break;
            }
            let (used, next) = chunked(c, part).unwrap();
            match next {
                Some(n) => c = n,
                None => {
                    done = true;
                    rest = &part[used..];
                }
            }
        }
        assert!(done, "split {split}");
        assert!(
            b"NEXT".ends_with(rest) || rest == b"NEXT",
            "split {split}: {rest:?}"
        );
    }
    // One byte at a time.
    let mut c = Chunk::Size {
        value: 0,
        digits: 0,
        ext: false,
    };
    for (i, b) in body.iter().enumerate() {
        match chunked(c, std::slice::from_ref(b)).unwrap() {
            (1, Some(n)) => c = n,
            (1, None) => {
                assert_eq!(&body[i + 1..], b"NEXT");
                return;
            }
            other => panic!("{other:?}"),
        }
    }
    panic!("not done");
}

#[test]
fn chunk_size_overflow_is_an_error() {
    let c = Chunk::Size {
        value: 0,
        digits: 0,
        ext: false,
    };
    assert!(chunked(c, b"ffffffffffffffffff\r\n").is_err());
}

#[test]
fn start_lines() {
    assert!(is_start_line(Side::Request, b"GET /x HTTP/1.1\r\n"));
    assert!(is_start_line(Side::Request, b"OPTIONS * HTTP/1.0"));
    assert!(!is_start_line(Side::Request, b"GET /x\r\n"));
    assert!(!is_start_line(Side::Request, b"{\"a\": 1} HTTP/1.1"));
    assert!(is_start_line(Side::Response, b"HTTP/1.1 200 OK\r\n"));
    assert!(is_start_line(Side::Response, b"HTTP/1.0 404"));
    assert!(!is_start_line(Side::Response, b"HTTP/2 200"));
}

#[test]
fn lengths() {
    assert_eq!(parse_length(b"12"), Some(12));
    assert_eq!(parse_length(b" 7 , 7"), Some(7));
    assert_eq!(parse_length(b"99999999999999999999999"), None);
    assert_eq!(parse_length(b"-1"), None);
    assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nx", 0), Some(24));
    assert_eq!(head_end(b"GET / HTTP/1.1\nA: b\n\nx", 0), Some(21));
}

/// Found by the `http1` fuzz target: blank lines before the first request line (tolerated
/// between messages, RFC 9112 §2.2) made the connection "not HTTP" when they came in the same
/// piece as the request line, and not when the first piece held only blank bytes.
#[test]
fn blank_lines_before_the_first_request() {
    let stream = b"\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    assert!(!not_http1(Side::Request, stream));
    assert!(!not_http1(Side::Request, b"\r\n\r\n"));
    assert!(not_http1(Side::Request, b"\r\nGET /a\r\n"));
    for cut in [stream.len(), 1, 2, 5] {
        let input: Arc<str> = Arc::from("t");
        let mut out = VecDeque::new();
        let mut health = CaptureHealth::default();
        let mut not_http = 0;
        let mut cx = Ctx {
            input: &input,
            client: "10.0.0.1:40000".parse().unwrap(),
            server: "10.0.0.2:80".parse().unwrap(),
            conn: 1,
            max_head: 65536,
            out: &mut out,
            health: &mut health,
            not_http: &mut not_http,
            acked: None,
            scheme: "http",
        };
        let mut c = HttpConn::new(true, true);
        let (a, b) = stream.split_at(cut);
        c.data(Side::Request, a, 1, Timestamp(0), &mut cx);
        c.data(Side::Request, b, 2, Timestamp(0), &mut cx);
        c.data(
            Side::Response,
            b"HTTP/1.1 204 No Content\r\n\r\n",
            3,
            Timestamp(0),
            &mut cx,
        );
        assert_eq!(not_http, 0, "cut at {cut}");
        assert_eq!(out.len(), 1, "cut at {cut}");
        assert_eq!(out[0].response.as_ref().map(|r| r.status), Some(204));
    }
}
