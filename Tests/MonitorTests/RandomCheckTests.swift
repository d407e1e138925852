import Testing

@testable import Monitor

@Suite struct RandomCheckTests {
    func values(seed: UInt64, count: Int) async -> [Double] {
        let check = RandomCheck(seed: seed, mark: 0.5)
        var values: [Double] = []
        for _ in 0..<count { values.append(await check.run().measurement["value"]!.doubleValue!) }
        return values
    }

    @Test func sameSeedSameSequence() async {
        let first = await values(seed: 7, count: 50)
        let second = await values(seed: 7, count: 50)
        #expect(first == second)
        #expect(Set(first).count == 50)
        #expect(first.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(await values(seed: 8, count: 50) != first)
    }

    @Test func sequenceIsFixedAcrossReleases() {
        // SplitMix64 with seed 0: the published first output.
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
    }

    @Test func statusFollowsTheMark() async {
        let check = RandomCheck(seed: 7, mark: 0.3)
        for run in 1...20 {
            let outcome = await check.run()
            let value = outcome.measurement["value"]!.doubleValue!
            #expect(outcome.measurement["mark"] == 0.3)
            #expect(outcome.measurement.keys.sorted() == ["mark", "value"])
            if value > 0.3 {
                #expect(outcome.status == .success)
                #expect(outcome.message == "[\(run)] value is ok \(value) > 0.3")
            } else {
                #expect(outcome.status == .failure)
                #expect(outcome.message == "[\(run)] value is bad \(value) <= 0.3")
            }
        }
    }

    @Test func markBoundsAlwaysAndNever() async {
        for seed in UInt64(0)..<20 {
            #expect(await RandomCheck(seed: seed, mark: 1).run().status == .failure)
            #expect(await RandomCheck(seed: seed, mark: 0).run().status == .success)
        }
    }
}
