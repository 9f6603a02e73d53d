import Foundation

/// A test certificate authority and a server certificate it signed for `localhost` and
/// 127.0.0.1 (valid until 2126), written to temporary files for TLS tests. Test material only:
/// the private key is public.
enum TestCertificates {
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBojCCAUegAwIBAgIUN5gUUu0vd4I+gMtvbAelhGdW66EwCgYIKoZIzj0EAwIw
        HTEbMBkGA1UEAwwSU3dpdGNoeWFyZCBUZXN0IENBMCAXDTI2MTEyOTE2NTk1NVoY
        DzIxMjYxMTA1MTY1OTU1WjAdMRswGQYDVQQDDBJTd2l0Y2h5YXJkIFRlc3QgQ0Ew
        WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ8suI2z/n67jY1ri7Cu/SEO2bRQ5F7
        ZC6Cg2l86EXVuTNJ1Ll3QXg8t+NCgt5mVwlxVP3bLRLYGPM0pE40Om61o2MwYTAd
        BgNVHQ4EFgQUTBX+nyEspAiNOpgy8e1fTXZBrjswHwYDVR0jBBgwFoAUTBX+nyEs
        pAiNOpgy8e1fTXZBrjswDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw
        CgYIKoZIzj0EAwIDSQAwRgIhAIHQyo8w07y2I1oqrJcJlFpPIaHbGDwNfmuDoB8Z
        YiqWAiEAwZ6TgMcBoZu2pISYQ7mDGjzlqqEVN8d7Mf2CX6QtXko=
        -----END CERTIFICATE-----
        """

    static let serverPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBtDCCAVmgAwIBAgIUKYn4njPhAEBuIJNT1wXs71ERAgAwCgYIKoZIzj0EAwIw
        HTEbMBkGA1UEAwwSU3dpdGNoeWFyZCBUZXN0IENBMCAXDTI2MTEyOTE2NTk1NVoY
        DzIxMjYxMTA1MTY1OTU1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjO
        PQIBBggqhkjOPQMBBwNCAAS55yuvyuqC3EaENdDzALHE90XPgK2xAQAycgYzYXeb
        IzptktispZdymRw+zGMykKIg8Mz/PYCMfc8/MspxbDlTo34wfDAaBgNVHREEEzAR
        gglsb2NhbGhvc3SHBH8AAAEwCQYDVR0TBAIwADATBgNVHSUEDDAKBggrBgEFBQcD
        ATAdBgNVHQ4EFgQUPhGiaQGj2GgPZKePirwTl1cMhxswHwYDVR0jBBgwFoAUTBX+
        nyEspAiNOpgy8e1fTXZBrjswCgYIKoZIzj0EAwIDSQAwRgIhAMEvx9E1Z0CxiBUd
        aUdBhY5/iwWDNYLzSU/2uPB904cBAiEA/pwGQm+xyNEPc1iQdSZuhS0DVGIlcX26
        P98h4h5MaY8=
        -----END CERTIFICATE-----
        """

    static let serverKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgduf0+DGfc/rbEROw
        lhL+E1LJlnfOOWz41WfD5M6X0MuhRANCAAS55yuvyuqC3EaENdDzALHE90XPgK2x
        AQAycgYzYXebIzptktispZdymRw+zGMykKIg8Mz/PYCMfc8/MspxbDlT
        -----END PRIVATE KEY-----
        """

    /// Writes the three files to a fresh temporary directory: (ca, certificate, key) paths.
    static func writeFiles() throws -> (ca: String, certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "switchyard-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ca = directory.appendingPathComponent("ca.pem").path
        let certificate = directory.appendingPathComponent("server.pem").path
        let key = directory.appendingPathComponent("server.key").path
        try caPEM.write(toFile: ca, atomically: true, encoding: .utf8)
        try serverPEM.write(toFile: certificate, atomically: true, encoding: .utf8)
        try serverKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)
        return (ca, certificate, key)
    }
}
