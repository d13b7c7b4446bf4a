import RoomHost
import Testing

@Suite struct ServerMetricsTests {
    @Test func countersAndGauges() {
        let text = ServerMetrics.render([
            MetricFamily(name: "ysync_rooms", help: "Rooms loaded.", type: .gauge, value: 3),
            MetricFamily(name: "ysync_messages_total", help: "Messages received.", type: .counter, samples: [
                MetricSample(labels: [("room", "a"), ("kind", "sync")], value: 1_234_567),
                MetricSample(labels: [("room", "b"), ("kind", "awareness")], value: 0),
            ]),
        ])
        #expect(text == """
            # HELP ysync_rooms Rooms loaded.
            # TYPE ysync_rooms gauge
            ysync_rooms 3
            # HELP ysync_messages_total Messages received.
            # TYPE ysync_messages_total counter
            ysync_messages_total{room="a",kind="sync"} 1234567
            ysync_messages_total{room="b",kind="awareness"} 0

            """)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        let text = ServerMetrics.render([
            MetricFamily(name: "ysync_errors_total", help: "Errors \\ by \"kind\"\nsecond line", type: .counter, samples: [
                MetricSample(labels: [("room", "a\\b \"q\"\nc é")], value: 2),
            ]),
        ])
        #expect(text == #"""
            # HELP ysync_errors_total Errors \\ by "kind"\nsecond line
            # TYPE ysync_errors_total counter
            ysync_errors_total{room="a\\b \"q\"\nc é"} 2

            """#)
    }

    @Test func values() {
        #expect(ServerMetrics.formatValue(0) == "0")
        #expect(ServerMetrics.formatValue(-0.0) == "0")
        #expect(ServerMetrics.formatValue(42) == "42")
        #expect(ServerMetrics.formatValue(-7) == "-7")
        #expect(ServerMetrics.formatValue(1e15) == "1000000000000000", "no exponent for integers")
        #expect(ServerMetrics.formatValue(123_456_789_012_345_680) == "123456789012345680")
        #expect(ServerMetrics.formatValue(0.5) == "0.5")
        #expect(ServerMetrics.formatValue(2.25) == "2.25")
        #expect(ServerMetrics.formatValue(.infinity) == "+Inf")
        #expect(ServerMetrics.formatValue(-.infinity) == "-Inf")
        #expect(ServerMetrics.formatValue(.nan) == "NaN")
        // Past Int64 the shortest float form (with exponent) is still valid for Prometheus.
        #expect(Double(ServerMetrics.formatValue(1e300)) == 1e300)
        #expect(Double(ServerMetrics.formatValue(1.5e-7)) == 1.5e-7)
    }

    @Test func namesAreMadeValid() {
        let text = ServerMetrics.render([
            MetricFamily(name: "9bad-name:x", help: "", type: .gauge, samples: [
                MetricSample(labels: [("bad-label:", "v")], value: 1),
            ]),
        ])
        #expect(text == "# HELP _bad_name:x \n# TYPE _bad_name:x gauge\n_bad_name:x{bad_label_=\"v\"} 1\n")
    }

    @Test func emptyInputs() {
        #expect(ServerMetrics.render([]) == "")
        #expect(ServerMetrics.render([MetricFamily(name: "m", help: "h", type: .counter, samples: [])])
            == "# HELP m h\n# TYPE m counter\n")
        #expect(ServerMetrics.render([MetricFamily(name: "up", help: "h", type: .gauge, value: 1)])
            == "# HELP up h\n# TYPE up gauge\nup 1\n")
        #expect(ServerMetrics.contentType == "text/plain; version=0.0.4; charset=utf-8")
    }
}
