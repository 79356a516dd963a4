import AWSAuth
import Testing

@Suite("Amazon MSK IAM tokens")
struct MSKIAMTokenTests {
    static let agent = "aws-msk-iam-sasl-signer-python/1.0.2"

    /// The tokens `aws-msk-iam-sasl-signer-python` 1.0.2 (botocore 1.44.18) made for these
    /// credentials at 2026-01-01T00:00:00Z in us-east-1 (`Tests/SenderLibraries/msk_iam_token.py`).
    @Test("For fixed credentials and a fixed clock the token is AWS's signer's, byte for byte")
    func knownAnswers() {
        let at: Int64 = 1_767_225_600
        let permanent = MSKIAMToken.make(
            region: "us-east-1",
            credentials: AWSCredentials(
                accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
            ),
            at: at,
            userAgent: Self.agent
        )
        #expect(
            permanent.token
                == "aHR0cHM6Ly9rYWZrYS51cy1lYXN0LTEuYW1hem9uYXdzLmNvbS8_QWN0aW9uPWthZmthLWNsdXN0ZXIlM0FDb25uZWN0JlgtQW16LUFsZ29yaXRobT1BV1M0LUhNQUMtU0hBMjU2JlgtQW16LUNyZWRlbnRpYWw9QUtJQUlPU0ZPRE5ON0VYQU1QTEUlMkYyMDI2MDEwMSUyRnVzLWVhc3QtMSUyRmthZmthLWNsdXN0ZXIlMkZhd3M0X3JlcXVlc3QmWC1BbXotRGF0ZT0yMDI2MDEwMVQwMDAwMDBaJlgtQW16LUV4cGlyZXM9OTAwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCZYLUFtei1TaWduYXR1cmU9Nzk4NzZiMGViZjljNjQ3YjA4YzJjNmVlZGI2NDkxZmEyNGQ3MmQ4Y2U3NmJlMjdkNzZiNGYzZDEwZDZjZGVlNyZVc2VyLUFnZW50PWF3cy1tc2staWFtLXNhc2wtc2lnbmVyLXB5dGhvbiUyRjEuMC4y"
        )
        #expect(permanent.expiresAtMilliseconds == 1_767_226_500_000)
        let temporary = MSKIAMToken.make(
            region: "us-east-1",
            credentials: AWSCredentials(
                accessKeyID: "ASIAIOSFODNN7EXAMPLE",
                secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                sessionToken: "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/="
            ),
            at: at,
            userAgent: Self.agent
        )
        #expect(
            temporary.token
                == "aHR0cHM6Ly9rYWZrYS51cy1lYXN0LTEuYW1hem9uYXdzLmNvbS8_QWN0aW9uPWthZmthLWNsdXN0ZXIlM0FDb25uZWN0JlgtQW16LUFsZ29yaXRobT1BV1M0LUhNQUMtU0hBMjU2JlgtQW16LUNyZWRlbnRpYWw9QVNJQUlPU0ZPRE5ON0VYQU1QTEUlMkYyMDI2MDEwMSUyRnVzLWVhc3QtMSUyRmthZmthLWNsdXN0ZXIlMkZhd3M0X3JlcXVlc3QmWC1BbXotRGF0ZT0yMDI2MDEwMVQwMDAwMDBaJlgtQW16LUV4cGlyZXM9OTAwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCZYLUFtei1TZWN1cml0eS1Ub2tlbj1JUW9KYjNKcFoybHVYMlZqRUpyJTJGJTJGJTJGJTJGJTJGJTJGJTJGJTJGJTJGJTJGd0VhQ1hWekxXVmhjM1F0TVNKSE1FVUNJUSUyQiUyRiUzRCZYLUFtei1TaWduYXR1cmU9OTZlZDI5Nzc2Yjc3MzU5MmY3NjJhMzU1MDAyYTc4NjA4YzgzNmFhNzIxYjg0NWViZGRiNjNhYjg2YzZhMWU5ZCZVc2VyLUFnZW50PWF3cy1tc2staWFtLXNhc2wtc2lnbmVyLXB5dGhvbiUyRjEuMC4y"
        )
    }
}
